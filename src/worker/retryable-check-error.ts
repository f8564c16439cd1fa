/** A check failed for a transient reason (payer down, 5xx, network): BullMQ retries it with backoff. */
export class RetryableCheckError extends Error {
  override readonly name = 'RetryableCheckError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}
