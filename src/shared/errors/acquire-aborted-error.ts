/** The caller's AbortSignal fired while it waited for a slot. */
export class AcquireAbortedError extends Error {
  override readonly name = 'AcquireAbortedError';
  constructor(options?: { cause?: unknown }) {
    super('acquire was aborted', options);
  }
}
