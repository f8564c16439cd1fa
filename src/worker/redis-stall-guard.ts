/**
 * Keeps BullMQ's stalled-job check from taking a live worker's checks after Redis stalled.
 *
 * Redis expires keys by its own clock, and that clock runs while Redis is stopped or hung. A stall
 * longer than about half of WORKER_LOCK_MS (locks are renewed every half) lets the job lock of
 * every check in progress expire. Every command sent meanwhile runs when Redis resumes, BullMQ's
 * stalled check among them: it takes each check it had marked before the stall and finds unlocked,
 * and another worker runs it again (a second Stedi call) while the first worker's answer is lost.
 *
 * So a worker sends the stalled check only right after Redis answered a PING in time (a check is
 * never left queued in a stalled Redis), and not for `graceMs` after a stall ended, which gives
 * every live worker time to reclaim its locks (see job-lock-keeper.ts). A dead worker's checks
 * come back that much later after a stall; at any other time the check runs as before.
 *
 * States: clear → stalled (a PING unanswered within `pingTimeoutMs`, or refused) → recovering
 * (answered in time again; `onStallEnded`) → clear once `graceMs` has passed.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { answersWithin } from '../shared/answers-within.js';

/** Options of RedisStallGuard; durations in ms. */
export interface RedisStallGuardOptions {
  /** A PING not answered within this is a stall. */
  readonly pingTimeoutMs: number;
  /** How often Redis is probed in the background. */
  readonly probeEveryMs: number;
  /** How long stalled checks wait after a stall ended. */
  readonly graceMs: number;
  /** Redis stopped answering (the first unanswered PING). */
  readonly onStall?: () => void;
  /** Redis answers again after `stalledMs`. */
  readonly onStallEnded?: (stalledMs: number) => void;
  readonly now?: () => number;
}

/** Watches whether Redis answers, and says when a stalled-job check is safe. */
export class RedisStallGuard {
  private stalledSince: number | undefined;
  private endedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<unknown> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly redis: Pick<Redis, 'ping'>,
    private readonly options: RedisStallGuardOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** Starts probing in the background. */
  start(): void {
    this.schedule();
  }

  /** Whether Redis is known to be stalled now. */
  get stalled(): boolean {
    return this.stalledSince !== undefined;
  }

  /** Pings Redis once: whether it answered within the timeout (the state follows). */
  async probe(): Promise<boolean> {
    const sentAt = this.now();
    if (!(await answersWithin(this.redis.ping(), this.options.pingTimeoutMs))) {
      if (this.stalledSince === undefined) {
        this.stalledSince = sentAt;
        this.options.onStall?.();
      }
      return false;
    }
    if (this.stalledSince !== undefined) {
      const stalledMs = this.now() - this.stalledSince;
      this.stalledSince = undefined;
      this.endedAt = this.now();
      this.options.onStallEnded?.(stalledMs);
    }
    return true;
  }

  /** Whether a stalled-job check may run now: Redis answers in time, and no stall ended lately. */
  async allowsStalledCheck(): Promise<boolean> {
    if (this.stalledSince !== undefined) return false;
    if (!(await this.probe())) return false;
    return this.now() - this.endedAt >= this.options.graceMs;
  }

  /** Stops probing; waits for a probe in flight. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.probing;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.probing = this.probe().finally(() => {
        this.probing = undefined;
        this.schedule();
      });
    }, this.options.probeEveryMs);
    this.timer.unref();
  }
}

/**
 * Makes every stalled-job check of `worker` (BullMQ's own loop, and anyone calling
 * startStalledCheckTimer) ask `guard` first; a check it refuses finds nothing.
 */
export function guardStalledChecks(
  worker: Pick<Worker, 'getBackend'>,
  guard: RedisStallGuard,
): void {
  const backend = worker.getBackend();
  const check = backend.moveStalledJobsToWait.bind(backend);
  backend.moveStalledJobsToWait = async () => ((await guard.allowsStalledCheck()) ? check() : []);
}
