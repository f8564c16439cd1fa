/**
 * Per-API-key rate limit: a token bucket in Redis, so every producer instance draws from the same
 * bucket. The script reads Redis's clock (TIME), so producers' clocks do not matter.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import { RedisScript } from '../shared/clients/redis-script.js';
import type { ApiKey } from './auth/api-keys.js';
import { apiKeyOf } from './auth/require-scope.js';
import { errorReply, sendReply, type Reply } from './reply.js';

// KEYS[1] bucket; ARGV: rate per second, burst. Returns {allowed, retryAfterMs}.
const tokenBucket = new RedisScript(
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or burst
local ts = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`,
  1,
);

/** Token-bucket limiter per API key. */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Sustained requests per second per key. */
    private readonly ratePerSecond: number,
    /** Requests a key may send at once after being idle. */
    private readonly burst: number,
  ) {}

  /** Takes one token for `keyName`; `retryAfterMs` tells when one is back if refused. */
  async take(keyName: string): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const [allowed, wait] = (await tokenBucket.run(
      this.redis,
      [`${this.prefix}:rl:${keyName}`],
      [this.ratePerSecond, this.burst],
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: wait };
  }

  /** The 429 answer (with Retry-After) if `key` is past its rate; undefined if admitted. */
  async refusal(key: ApiKey): Promise<Reply | undefined> {
    const { allowed, retryAfterMs } = await this.take(key.name);
    if (allowed) return undefined;
    return errorReply(
      429,
      `rate limit of ${this.ratePerSecond} requests per second for API key "${key.name}" exceeded`,
      { headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
    );
  }

  /** Express middleware (after requireScope): 429 with Retry-After past the key's rate. */
  middleware() {
    return async (_req: Request, res: Response, next: NextFunction): Promise<void> => {
      const key = apiKeyOf(res);
      if (!key) return next();
      const refused = await this.refusal(key);
      if (refused) return sendReply(res, refused);
      next();
    };
  }
}
