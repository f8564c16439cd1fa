/** A held slot was found reclaimed by another holder: no further Stedi call may start on it. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly slot: number,
    message = `lease on slot ${slot} was lost`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
