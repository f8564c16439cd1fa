/** Counters of the simulator, served at GET /__stats; busy slot-time includes calls still running. */

/** Snapshot of the simulator's counters since the last reset. */
export interface SimulatorStats {
  readonly since: number;
  readonly elapsedMs: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly rejected429: number;
  readonly busySlotMs: number;
  /** busySlotMs ÷ (concurrency × elapsedMs). */
  readonly utilization: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** Mutable counters behind SimulatorStats. */
export class StatsRecorder {
  private since = Date.now();
  private requests = 0;
  private maxInFlight = 0;
  private rejected429 = 0;
  private finishedBusyMs = 0;
  private outcomes: Record<string, number> = {};
  private readonly running = new Map<number, number>();
  private nextId = 0;

  constructor(private readonly concurrency: number) {}

  /** Counts a request as it arrives. */
  arrived(): void {
    this.requests++;
  }

  /** A request took a slot; returns its id for `finished`. */
  started(): number {
    const id = this.nextId++;
    this.running.set(id, Date.now());
    this.maxInFlight = Math.max(this.maxInFlight, this.running.size);
    return id;
  }

  /** The request's slot is free again. */
  finished(id: number): void {
    const startedAt = this.running.get(id);
    if (startedAt === undefined) return;
    this.running.delete(id);
    this.finishedBusyMs += Date.now() - Math.max(startedAt, this.since);
  }

  get inFlight(): number {
    return this.running.size;
  }

  rejected(): void {
    this.rejected429++;
    this.outcome('429');
  }

  outcome(name: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
  }

  snapshot(): SimulatorStats {
    const now = Date.now();
    let busy = this.finishedBusyMs;
    for (const startedAt of this.running.values()) busy += now - Math.max(startedAt, this.since);
    const elapsedMs = now - this.since;
    return {
      since: this.since,
      elapsedMs,
      concurrency: this.concurrency,
      requests: this.requests,
      inFlight: this.running.size,
      maxInFlight: this.maxInFlight,
      rejected429: this.rejected429,
      busySlotMs: busy,
      utilization: elapsedMs > 0 ? busy / (this.concurrency * elapsedMs) : 0,
      outcomes: { ...this.outcomes },
    };
  }

  /** Starts counting afresh; calls still running count from now on. */
  reset(): void {
    this.since = Date.now();
    this.requests = 0;
    this.maxInFlight = this.running.size;
    this.rejected429 = 0;
    this.finishedBusyMs = 0;
    this.outcomes = {};
  }
}
