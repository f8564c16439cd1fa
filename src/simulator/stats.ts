/** Counters of the simulator, served at GET /__stats; busy slot-time includes calls still running. */
import { PayerCounters, type PayerStats } from './payer-stats.js';

export type { PayerStats };

/** Snapshot of the simulator's counters since the last reset. */
export interface SimulatorStats {
  readonly since: number;
  readonly elapsedMs: number;
  readonly concurrency: number;
  readonly requests: number;
  /** Requests by real-time endpoint (`v3`, `2026-06-01`); both draw on one allocation. */
  readonly byEndpoint: Readonly<Record<string, number>>;
  readonly inFlight: number;
  readonly maxInFlight: number;
  readonly rejected429: number;
  readonly busySlotMs: number;
  /** busySlotMs ÷ (concurrency × elapsedMs). */
  readonly utilization: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** The same counts per payer (tradingPartnerServiceId) of requests that held a slot. */
  readonly byPayer: Readonly<Record<string, PayerStats>>;
}

/** Mutable counters behind SimulatorStats. */
export class StatsRecorder {
  private since = Date.now();
  private requests = 0;
  private byEndpoint: Record<string, number> = {};
  private maxInFlight = 0;
  private rejected429 = 0;
  private finishedBusyMs = 0;
  private outcomes: Record<string, number> = {};
  /** Requests holding a slot: when they took it, and their payer once the body has named it. */
  private readonly running = new Map<number, { startedAt: number; payer?: string }>();
  private readonly payers = new Map<string, PayerCounters>();
  private nextId = 0;

  constructor(private readonly concurrency: number) {}

  /** Counts a request to `endpoint` as it arrives. */
  arrived(endpoint: string): void {
    this.requests++;
    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;
  }

  /** A request took a slot; returns its id for `finished`. */
  started(): number {
    const id = this.nextId++;
    this.running.set(id, { startedAt: Date.now() });
    this.maxInFlight = Math.max(this.maxInFlight, this.running.size);
    return id;
  }

  /**
   * The slot's request is to `payer`. The payer is known only once the body is read, so its
   * slot-time counts from when the slot was taken, as the global busySlotMs does.
   */
  attribute(id: number, payer: string): void {
    const run = this.running.get(id);
    if (!run || run.payer !== undefined) return;
    run.payer = payer;
    this.payer(payer).start();
  }

  /** The request's slot is free again. */
  finished(id: number): void {
    const run = this.running.get(id);
    if (run === undefined) return;
    this.running.delete(id);
    const busyMs = Date.now() - Math.max(run.startedAt, this.since);
    this.finishedBusyMs += busyMs;
    if (run.payer !== undefined) this.payer(run.payer).finish(busyMs);
  }

  get inFlight(): number {
    return this.running.size;
  }

  rejected(): void {
    this.rejected429++;
    this.outcome('429');
  }

  /** Counts an answer, for its payer too when the body named one. */
  outcome(name: string, payer?: string): void {
    this.outcomes[name] = (this.outcomes[name] ?? 0) + 1;
    if (payer !== undefined) this.payer(payer).outcome(name);
  }

  snapshot(): SimulatorStats {
    const now = Date.now();
    let busy = this.finishedBusyMs;
    const runningByPayer = new Map<string, number>();
    for (const { startedAt, payer } of this.running.values()) {
      const ms = now - Math.max(startedAt, this.since);
      busy += ms;
      if (payer !== undefined) runningByPayer.set(payer, (runningByPayer.get(payer) ?? 0) + ms);
    }
    const elapsedMs = now - this.since;
    return {
      since: this.since,
      elapsedMs,
      concurrency: this.concurrency,
      requests: this.requests,
      byEndpoint: { ...this.byEndpoint },
      inFlight: this.running.size,
      maxInFlight: this.maxInFlight,
      rejected429: this.rejected429,
      busySlotMs: busy,
      utilization: elapsedMs > 0 ? busy / (this.concurrency * elapsedMs) : 0,
      outcomes: { ...this.outcomes },
      byPayer: Object.fromEntries(
        [...this.payers].map(([id, c]) => [id, c.snapshot(runningByPayer.get(id) ?? 0)]),
      ),
    };
  }

  /** Starts counting afresh; calls still running count from now on. */
  reset(): void {
    this.since = Date.now();
    this.requests = 0;
    this.byEndpoint = {};
    this.maxInFlight = this.running.size;
    this.rejected429 = 0;
    this.finishedBusyMs = 0;
    this.outcomes = {};
    // Payers with a request still running stay listed, since its slot-time counts on.
    for (const [id, counters] of this.payers) {
      if (counters.busy) counters.reset();
      else this.payers.delete(id);
    }
  }

  private payer(id: string): PayerCounters {
    let counters = this.payers.get(id);
    if (!counters) this.payers.set(id, (counters = new PayerCounters()));
    return counters;
  }
}
