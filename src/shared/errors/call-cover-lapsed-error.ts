/**
 * The slot's recorded call cover ran out between the call-start write and the request's send (an
 * event-loop stall, a slow host): nothing was sent, because another worker may reclaim the slot
 * at cover + Stedi's bound while this call would still be running.
 */
export class CallCoverLapsedError extends Error {
  override readonly name = 'CallCoverLapsedError';
  constructor(readonly slot: number) {
    super(`the call cover on slot ${slot} lapsed before the request was sent; nothing was sent`);
  }
}
