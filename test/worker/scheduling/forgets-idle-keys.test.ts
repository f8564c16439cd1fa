/**
 * A worker forgets payers, tenants and payer + NPI pairs once no check of its own uses them, so
 * thousands of payers over a day do not all stay in every 200 ms refresh.
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

it('forgets the keys of checks that are done', async () => {
  redis = new Redis(inject('redisUrl'));
  s = new KeyScheduler({
    redis,
    prefix: uniqueName('ks'),
    limits: () => limits,
    rules: { initialConcurrency: 2, maxConcurrency: 10, failureThreshold: 3, cooldownMs: 1_000 },
    tokenTtlMs: 60_000,
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
