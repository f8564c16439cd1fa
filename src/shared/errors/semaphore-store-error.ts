/** The semaphore's store (DynamoDB) failed; the semaphore fails closed and grants nothing. */
export class SemaphoreStoreError extends Error {
  override readonly name = 'SemaphoreStoreError';
  constructor(operation: string, options?: { cause?: unknown }) {
    const why =
      options?.cause instanceof Error ? `: ${options.cause.name}: ${options.cause.message}` : '';
    super(`semaphore store ${operation} failed${why}`, options);
  }
}
