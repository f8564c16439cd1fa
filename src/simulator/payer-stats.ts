/** Counters of one payer's requests, the per-payer part of GET /__stats (`byPayer`). */

/** One payer's counters since the last reset; counts only requests that took a slot. */
export interface PayerStats {
  /** Requests to the payer that held a slot (a 429 is not read, so it names no payer). */
  readonly started: number;
  /** Of those, the ones whose slot is free again. */
  readonly finished: number;
  /** Slot-time of the payer's requests, from slot taken to slot freed, in-flight ones up to now. */
  readonly busySlotMs: number;
  readonly maxInFlight: number;
  readonly inFlight: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Mutable counters behind PayerStats; the slot-time of running requests is added at snapshot. */
export class PayerCounters {
  private started = 0;
  private finished = 0;
  private finishedBusyMs = 0;
  private inFlight = 0;
  private maxInFlight = 0;
  private outcomes: Record<string, number> = {};

  /** A request to the payer holds a slot. */
  start(): void {
    this.started++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
  }

  /** Its slot is free again after `busyMs` inside the stats window. */
  finish(busyMs: number): void {
    this.finished++;
    this.inFlight--;
    this.finishedBusyMs += busyMs;
  }

  /** Counts an answer (or hang-up) of the payer's request. */
  outcome(name: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
  }

  /** True while one of the payer's requests holds a slot. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** The counters, with `runningBusyMs` of the requests still holding slots added. */
  snapshot(runningBusyMs: number): PayerStats {
    return {
      started: this.started,
      finished: this.finished,
      busySlotMs: this.finishedBusyMs + runningBusyMs,
      maxInFlight: this.maxInFlight,
      inFlight: this.inFlight,
      outcomes: { ...this.outcomes },
    };
  }

  /** Starts counting afresh; requests still running stay in flight. */
  reset(): void {
    this.started = 0;
    this.finished = 0;
    this.finishedBusyMs = 0;
    this.maxInFlight = this.inFlight;
    this.outcomes = {};
  }
}
