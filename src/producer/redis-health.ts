/**
 * Whether the producer's Redis answers, so that requests get a prompt 503 while it does not. A
 * Redis that is stopped (or hung) keeps its TCP connection open: ioredis then writes every command
 * and waits, and all of them run when Redis comes back, long after their clients gave up.
 *
 * States: up → down when bounded work (`run`) times out or its connection fails; while down, `run`
 * refuses at once without sending anything, and a PING probes Redis every `probeIntervalMs`;
 * down → up when a probe is answered within `pingTimeoutMs`. So only the work in flight when Redis
 * stopped can land late; nothing submitted during the outage does.
 */
import type { Redis } from 'ioredis';
import { answersWithin } from '../shared/answers-within.js';
import type { Logger } from '../shared/logger.js';
import { isRedisUnavailable, RedisUnavailableError } from './redis-unavailable-error.js';

/** Options of RedisHealth; durations in ms. */
export interface RedisHealthOptions {
  /** Longest a readiness ping or a probe waits. */
  readonly pingTimeoutMs: number;
  /** How often Redis is probed while down. @defaultValue 250 */
  readonly probeIntervalMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** Tracks whether Redis answers and bounds the work sent to it. */
export class RedisHealth {
  private downSince: number | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(
    private readonly redis: Pick<Redis, 'ping'>,
    private readonly options: RedisHealthOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** False from the first unanswered work until a probe is answered. */
  get up(): boolean {
    return this.downSince === undefined;
  }

  /**
   * Runs `work` (Redis commands) until `deadline` (epoch ms). Throws RedisUnavailableError at once
   * while Redis is down, and when the work times out or its connection fails, which marks Redis
   * down. The work is not cancelled: what it sent may still run when Redis answers.
   */
  async run<T>(work: () => Promise<T>, deadline: number): Promise<T> {
    if (this.downSince !== undefined) {
      throw new RedisUnavailableError(
        `Redis has not answered for ${Math.round((this.now() - this.downSince) / 1000)} s`,
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const waitMs = Math.max(0, deadline - this.now());
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RedisUnavailableError(`Redis did not answer within ${waitMs} ms`)),
        waitMs,
      );
    });
    try {
      return await Promise.race([work(), timedOut]);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      this.markDown(err);
      throw err instanceof RedisUnavailableError
        ? err
        : new RedisUnavailableError(`Redis did not answer: ${(err as Error).message}`, {
            cause: err,
          });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether Redis answers a PING within the ping timeout (false at once while down). */
  async ready(): Promise<boolean> {
    try {
      await this.run(() => this.redis.ping(), this.now() + this.options.pingTimeoutMs);
      return true;
    } catch (err) {
      if (err instanceof RedisUnavailableError) return false;
      throw err;
    }
  }

  /** Stops probing; waits for a probe in flight. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    await this.probing;
  }

  private markDown(err: unknown): void {
    if (this.downSince !== undefined || this.closed) return;
    this.downSince = this.now();
    this.options.logger?.warn(
      { err: (err as Error).message },
      'Redis does not answer: submissions get 503 until it does',
    );
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probeTimer = setTimeout(() => {
      this.probing = this.probe().finally(() => {
        this.probing = undefined;
      });
    }, this.options.probeIntervalMs ?? 250);
  }

  private async probe(): Promise<void> {
    if (!(await answersWithin(this.redis.ping(), this.options.pingTimeoutMs))) {
      return this.scheduleProbe();
    }
    const downForMs = this.now() - (this.downSince ?? this.now());
    this.downSince = undefined;
    this.options.logger?.info({ downForMs }, 'Redis answers again');
  }
}
