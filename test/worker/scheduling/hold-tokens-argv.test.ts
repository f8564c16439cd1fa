/** Review: the renumbered ARGV of the token take, each position driven to change the outcome. */
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { Redis } from 'ioredis';
import { holdTokens, type HoldRequest } from '../../../src/worker/scheduling/hold-tokens.js';
import { uniqueName } from '../../support/names.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});
const NOW = 1_700_000_000_000;

function request(p: string, over: Partial<HoldRequest> = {}): HoldRequest {
  const sched = `${p}:sched:`;
  return {
    keys: {
      payerHash: `${sched}payer:P`,
      payer: `${sched}held:payer:P`,
      tenant: `${sched}held:tenant:T`,
      npi: `${sched}held:npi:P:1`,
      active: `${sched}active`,
      queued: `${p}:batch:prioritized`,
    },
    jobPrefix: `${p}:batch:`,
    queueHead: 0,
    schedPrefix: sched,
    payer: 'P',
    tenant: 'T',
    hasNpi: false,
    pool: 'batch',
    token: `t-${Math.random()}`,
    now: NOW,
    ttlMs: 60_000,
    initialConcurrency: 4,
    cap: 2,
    contended: false,
    othersActive: false,
    tenantMax: 0,
    npiCap: 0,
    tenantLimits: new Map(),
    ...over,
  };
}

async function hold(p: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await holdTokens(redis, request(p))).toBe('taken');
}

it('ARGV 14 (contended) applies the cap', async () => {
  const p = uniqueName('argv');
  await hold(p, 2);
  expect(await holdTokens(redis, request(p, { contended: true }))).toBe('refused');
  expect(await holdTokens(redis, request(p))).toBe('taken'); // alone: no limit
});

it('ARGV 15-17 (queue head): another payer queued below its earned concurrency applies the cap', async () => {
  const p = uniqueName('argv');
  await hold(p, 2);
  await redis.zadd(`${p}:batch:prioritized`, 1, 'job1');
  await redis.hset(`${p}:batch:job1`, 'name', 'check:OTHER:x');
  // Refused on what the queue showed, naming who waits (the worker then holds its check back).
  expect(await holdTokens(redis, request(p, { queueHead: 10 }))).toEqual({ contendedBy: 'OTHER' });
  // OTHER at its earned concurrency (4 tokens): not contention.
  for (let i = 0; i < 4; i++)
    await redis.zadd(`${p}:sched:held:payer:OTHER`, NOW + 60_000, `o${i}`);
  expect(await holdTokens(redis, request(p, { queueHead: 10 }))).toBe('taken');
});

it('ARGV 18 (others active) applies earned concurrency', async () => {
  const p = uniqueName('argv');
  await hold(p, 4);
  expect(await holdTokens(redis, request(p, { othersActive: true, cap: 100 }))).toBe('refused');
  expect(await holdTokens(redis, request(p, { cap: 100 }))).toBe('taken');
});

it('ARGV 19 (tenant limits): a queued check its tenant holds back is not contention', async () => {
  const p = uniqueName('argv');
  await hold(p, 2);
  await redis.zadd(`${p}:batch:prioritized`, 1, 'job1');
  await redis.hset(`${p}:batch:job1`, 'name', 'check:OTHER:tenant-a');
  const limits = new Map([['tenant-a', 1]]);
  // tenant-a below its limit of 1: its queued check waits for slots, the cap applies.
  expect(await holdTokens(redis, request(p, { queueHead: 10, tenantLimits: limits }))).toEqual({
    contendedBy: 'OTHER',
  });
  // tenant-a at its limit: that check could not use a slot, so no contention.
  await redis.zadd(`${p}:sched:held:tenant:tenant-a`, NOW + 60_000, 'a1');
  expect(await holdTokens(redis, request(p, { queueHead: 10, tenantLimits: limits }))).toBe(
    'taken',
  );
});

it('queue head: a half-open payer running its probe is not contention; one waiting to probe is', async () => {
  const p = uniqueName('argv');
  await hold(p, 2);
  await redis.zadd(`${p}:batch:prioritized`, 1, 'job1');
  await redis.hset(`${p}:batch:job1`, 'name', 'check:OTHER:x');
  // Half-open (its cool-down is over) with a high earned concurrency: it may run one probe only.
  await redis.hset(`${p}:sched:payer:OTHER`, 'earned', 8, 'openUntil', NOW - 1_000);
  expect(await holdTokens(redis, request(p, { queueHead: 10 }))).toEqual({ contendedBy: 'OTHER' });
  await redis.zadd(`${p}:sched:held:payer:OTHER`, NOW + 60_000, 'probe');
  expect(await holdTokens(redis, request(p, { queueHead: 10 }))).toBe('taken');
});
