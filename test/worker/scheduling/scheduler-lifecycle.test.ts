/**
 * A worker's scheduler over its life: it forgets payers, tenants and payer + NPI pairs once no
 * check of its own uses them (thousands of payers over a day must not all stay in every 200 ms
 * refresh), and a failed payer-health write after the call (OOM under noeviction, READONLY in a
 * failover) is reported and never thrown: Stedi's answer is already in hand.
 */
import { afterEach, beforeEach, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  KeyScheduler,
  type KeySchedulerOptions,
} from '../../../src/worker/scheduling/key-scheduler.js';
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
beforeEach(() => {
  redis = new Redis(inject('redisUrl'));
});
afterEach(async () => {
  await s.close();
  await redis.quit();
});

/** A scheduler on its own prefix, with `extra` options. */
function scheduler(extra: Partial<KeySchedulerOptions>): KeyScheduler {
  return new KeyScheduler({
    redis,
    prefix: uniqueName('ks'),
    limits: () => limits,
    rules: { initialConcurrency: 2, maxConcurrency: 10, failureThreshold: 3, cooldownMs: 1_000 },
    tokenTtlMs: 60_000,
    ...extra,
  });
}

it('forgets the keys of checks that are done', async () => {
  s = scheduler({
    refreshMs: 50,
  });
  for (let i = 0; i < 50; i++) {
    const a = s.admission({ payer: `P${i}`, tenant: 't', npi: `${1000000000 + i}`, pool: 'batch' });
    a.reserve(); // the semaphore picked it
    expect(await a.started()).toBe(true);
    await s.refreshNow(); // a call longer than one refresh
    await a.finished('ok');
  }
  await s.refreshNow();
  await s.refreshNow();
  const counts = (s as unknown as { counts: Map<string, unknown> }).counts;
  // Nothing is in flight or waiting: no key is read on every refresh any more.
  expect(counts.size).toBe(0);
  expect(s.snapshot().payers).toHaveLength(0);
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
