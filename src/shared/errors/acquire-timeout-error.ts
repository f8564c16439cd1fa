/** No slot of the requested pool became free within the acquire timeout. */
export class AcquireTimeoutError extends Error {
  override readonly name = 'AcquireTimeoutError';
  constructor(
    readonly pool: string,
    readonly timeoutMs: number,
  ) {
    super(`no ${pool} slot became free within ${timeoutMs} ms`);
  }
}
