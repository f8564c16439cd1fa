/** No answer came back from Stedi (network error, reset or our timeout past Stedi's bound). */
export class StediTransportError extends Error {
  override readonly name = 'StediTransportError';
  /**
   * True when the request was sent and the call may still be running at Stedi, holding one of
   * the account's slots (a reset or a cut answer before Stedi's bound): the semaphore slot must
   * stay taken until the call's bound, not be freed now. False when nothing was sent, or when our
   * own timeout, past Stedi's bound plus a grace, gave up.
   */
  readonly mayStillRun: boolean;
  constructor(message: string, options?: { cause?: unknown; mayStillRun?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.mayStillRun = options?.mayStillRun ?? false;
  }
}
