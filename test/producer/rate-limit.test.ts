import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RateLimiter } from '../../src/producer/rate-limiter.js';
import { uniqueName } from '../support/names.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';

let a: ProducerEnv;
let b: ProducerEnv;
beforeAll(async () => {
  a = await producerEnv({ RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '6' });
  // A second instance of the same deployment: same prefix, so the same buckets.
  b = await producerEnv({
    RATE_LIMIT_PER_SECOND: '2',
    RATE_LIMIT_BURST: '6',
    QUEUE_PREFIX: a.config.QUEUE_PREFIX,
    SEMAPHORE_TABLE: a.config.SEMAPHORE_TABLE,
    DATA_ENCRYPTION_KEYS: a.config.DATA_ENCRYPTION_KEYS ?? '',
  });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

describe('per-key rate limit', () => {
  it('holds across two producer instances, with 429 and Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await (i % 2 === 0 ? a : b).call('/v1/eligibility/rt_missing');
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    // Burst of 6 shared by both instances (a few more may refill at 2/s while the loop runs).
    const allowed = statuses.filter((s) => s === 404).length;
    expect(allowed).toBeGreaterThanOrEqual(6);
    expect(allowed).toBeLessThanOrEqual(8);
    expect(statuses.filter((s) => s === 429).length).toBe(12 - allowed);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });

  it('keeps separate buckets per key and leaves health endpoints unlimited', async () => {
    const other = await a.call('/v1/eligibility/rt_missing', { key: 'read-only-key-1234' });
    expect(other.status).toBe(404);
    for (let i = 0; i < 10; i++) expect((await b.call('/healthz', { key: null })).status).toBe(200);
  });

  it('debits a burst of simultaneous requests exactly, across two producers', async () => {
    // Requests of one key in the same event-loop turn share one script call; the bucket must
    // still grant exactly its tokens, whichever producer asks and however they are grouped.
    const redis = new Redis(inject('redisUrl'));
    const prefix = uniqueName('rl');
    const one = new RateLimiter(redis, prefix, 1, 6);
    const two = new RateLimiter(redis, prefix, 1, 6);
    try {
      const takes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).take('clinic')),
      );
      expect(takes.filter((t) => t.allowed)).toHaveLength(6);
      const refused = takes.filter((t) => !t.allowed);
      expect(refused).toHaveLength(14);
      for (const t of refused) expect(t.retryAfterMs).toBeGreaterThan(0);
      // Another key has its own bucket.
      expect((await one.take('frontdesk')).allowed).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
