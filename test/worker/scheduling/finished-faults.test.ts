/**
 * A failed payer-health write after the call (OOM under noeviction, READONLY in a failover) is
 * reported and never thrown: Stedi's answer is already in hand and must not cost an attempt.
 */
import { afterEach, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { KeyScheduler } from '../../../src/worker/scheduling/key-scheduler.js';
import type { EffectiveLimits } from '../../../src/shared/scheduling/limits.js';
import { uniqueName } from '../../support/names.js';

const limits: EffectiveLimits = {
  allocation: 10,
  realtimeReserved: 0,
  payers: { defaultCap: 10, caps: {}, npiCap: 0 },
  tenants: {},
  lending: { floor: 0, waitTargetMs: 100, waitPercentile: 99 },
};
let redis: Redis;
let s: KeyScheduler;
afterEach(async () => {
  await s.close();
  await redis.quit();
});

it('keeps an answer when only the health record fails (reported, not thrown)', async () => {
  redis = new Redis(inject('redisUrl'));
  const errors: Error[] = [];
  s = new KeyScheduler({
    redis,
    prefix: uniqueName('ks'),
    limits: () => limits,
    rules: { initialConcurrency: 2, maxConcurrency: 10, failureThreshold: 3, cooldownMs: 1_000 },
    tokenTtlMs: 60_000,
    onError: (e) => errors.push(e),
  });
  const a = s.admission({ payer: 'P', tenant: 't', npi: undefined, pool: 'batch' });
  expect(await a.started()).toBe(true);
  const real = redis.evalsha.bind(redis);
  (redis as unknown as { evalsha: unknown }).evalsha = () =>
    Promise.reject(new Error('OOM command not allowed when used memory > maxmemory'));
  await expect(a.finished('ok')).resolves.toBeUndefined();
  (redis as unknown as { evalsha: unknown }).evalsha = real;
  expect(errors.map((e) => e.message).join()).toMatch(/OOM/);
});
