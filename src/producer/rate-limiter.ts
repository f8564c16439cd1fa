/**
 * Per-API-key rate limit: a token bucket in Redis, so every producer instance draws from the same
 * bucket. The script reads Redis's clock (TIME), so producers' clocks do not matter. Requests of
 * one key that arrive in the same event-loop turn take their tokens in one script call: under load
 * that is one Redis round trip for many requests instead of one each, and the bucket is debited
 * exactly what it grants.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RedisScript } from '../shared/clients/redis-script.js';
import type { ApiKey } from './auth/api-keys.js';
import { apiKeyOf } from './auth/require-scope.js';
import type { RedisHealth } from './redis-health.js';
import { errorReply, sendReply, type Reply } from './reply.js';

// KEYS[1] bucket; ARGV: rate per second, burst, tokens wanted.
// Returns {granted, retryAfterMs}: retryAfterMs tells when the next token is back if not all were.
const tokenBucket = new RedisScript(
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
local wait = 0
if granted < wanted then
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, wait}
`,
  1,
);

/** The outcome of taking one token. */
export interface Take {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
}

interface Waiter {
  resolve(take: Take): void;
  reject(err: unknown): void;
}

/** Token-bucket limiter per API key. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Sustained requests per second per key. */
    private readonly ratePerSecond: number,
    /** Requests a key may send at once after being idle. */
    private readonly burst: number,
    /** Bounds the take: a RedisUnavailableError when Redis does not answer by the deadline. */
    private readonly bound?: {
      readonly health: RedisHealth;
      /** The deadline of a request arriving now (epoch ms). */
      deadlineFromNow(): number;
    },
  ) {}

  private pending = new Map<string, Waiter[]>();

  /** Takes one token for `keyName`; `retryAfterMs` tells when one is back if refused. */
  take(keyName: string): Promise<Take> {
    return new Promise<Take>((resolve, reject) => {
      const waiters = this.pending.get(keyName);
      if (waiters) waiters.push({ resolve, reject });
      else {
        if (this.pending.size === 0) setImmediate(() => this.flush());
        this.pending.set(keyName, [{ resolve, reject }]);
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = new Map();
    for (const [keyName, waiters] of batch) {
      tokenBucket
        .run(
          this.redis,
          [`${this.prefix}:rl:${keyName}`],
          [this.ratePerSecond, this.burst, waiters.length],
        )
        .then(
          (reply) => {
            const [granted, wait] = reply as [number, number];
            waiters.forEach((w, i) =>
              w.resolve({ allowed: i < granted, retryAfterMs: i < granted ? 0 : wait }),
            );
          },
          (err: unknown) => waiters.forEach((w) => w.reject(err)),
        );
    }
  }

  /**
   * The 429 answer (with Retry-After) if `key` is past its rate; undefined if admitted. Throws
   * RedisUnavailableError when Redis does not answer by `deadline`.
   */
  async refusal(key: ApiKey, deadline?: number): Promise<Reply | undefined> {
    const { bound } = this;
    const { allowed, retryAfterMs } = bound
      ? await bound.health.run(() => this.take(key.name), deadline ?? bound.deadlineFromNow())
      : await this.take(key.name);
    if (allowed) return undefined;
    return errorReply(
      429,
      `rate limit of ${this.ratePerSecond} requests per second for API key "${key.name}" exceeded`,
      { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
    );
  }

  /**
   * Express middleware (after requireScope): 429 with Retry-After past the key's rate. The take
   * counts against the request's deadline when one is set in `res.locals.deadline`.
   */
  middleware() {
    return async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
      const key = apiKeyOf(res);
      if (!key) return next();
      const refused = await this.refusal(key, deadlineOf(res));
      if (refused) return sendReply(res, refused);
      next();
    };
  }
}

/** The deadline a route set for a request's Redis work (epoch ms), if any. */
export function deadlineOf(res: Response): number | undefined {
  const d = (res.locals as { deadline?: unknown }).deadline;
  return typeof d === 'number' ? d : undefined;
}
