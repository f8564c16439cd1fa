import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { Worker } from 'bullmq';
import { CheckQueues, type CheckJob } from '../../../src/shared/check-queues.js';
import { loadConfig } from '../../../src/shared/config.js';
import { generateDataKeySpec } from '../../../src/shared/crypto/data-cipher.js';
import { queueNames } from '../../../src/shared/queues.js';
import { PRIORITY_LIMIT } from '../../../src/shared/scheduling/fair-queue.js';
import { SchedulerKeys } from '../../../src/shared/scheduling/keys.js';
import { checkRequest } from '../../support/fixtures.js';
import { uniqueName } from '../../support/names.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let prefix: string;
let redis: Redis;
let queues: CheckQueues;
let workers: Worker[];
let connections: Redis[];

beforeEach(() => {
  prefix = uniqueName('fq');
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: prefix,
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
  });
  redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  queues = CheckQueues.fromConfig(redis, config);
  workers = [];
  connections = [redis];
});

afterEach(async () => {
  await Promise.allSettled(workers.map((w) => w.close()));
  await queues.queues.batch.obliterate({ force: true }).catch(() => undefined);
  await queues.queues.realtime.obliterate({ force: true }).catch(() => undefined);
  await redis.del(new SchedulerKeys(prefix).vtime);
  await queues.close();
  for (const c of connections) c.disconnect();
});

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) => checkRequest(`SIM${String(i).padStart(7, '0')}`));
const priorities = (jobs: readonly CheckJob[]) => jobs.map((j) => j.opts.priority);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The batch queue's prioritized jobs in the order BullMQ will serve them. */
async function servingOrder(end = -1): Promise<CheckJob[]> {
  return queues.queues.batch.getJobs(['prioritized'], 0, end, true);
}

async function tags(): Promise<Record<string, number>> {
  // ':v' is the remembered virtual time, not a tenant (API key names cannot hold ':').
  const raw = await redis.hgetall(new SchedulerKeys(prefix).vtime);
  return Object.fromEntries(
    Object.entries(raw)
      .filter(([k]) => k !== ':v')
      .map(([k, v]) => [k, Number(v)]),
  );
}

/** Serves every batch job with a BullMQ worker, one at a time; returns tenants in served order. */
async function drain(expected: number): Promise<string[]> {
  const served: string[] = [];
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  connections.push(connection);
  const worker = new Worker(
    queueNames.batch,
    async (job) => {
      served.push((job.data as { submittedBy?: string }).submittedBy ?? 'anonymous');
      return {};
    },
    { connection, prefix, concurrency: 1 },
  );
  workers.push(worker);
  const deadline = Date.now() + 20_000;
  while (served.length < expected || (await queues.queues.batch.getPrioritizedCount()) > 0) {
    if (Date.now() > deadline) throw new Error(`served ${served.length} of ${expected}`);
    await sleep(20);
  }
  await worker.close();
  return served;
}

describe('fair queuing of batch tenants', () => {
  it("puts a tenant arriving behind another's long run among the earliest waiting checks", async () => {
    const a = await queues.addBulk('batch', requests(200), 'tenant-a');
    const b = await queues.addBulk('batch', requests(10), 'tenant-b');
    expect(priorities(a)).toEqual(range(2, 201));
    // Virtual time is the head's priority (2): B starts level with it, one step per check.
    expect(priorities(b)).toEqual(range(4, 13));
    const lastB = Math.max(...priorities(b).map(Number));
    const aBehind = priorities(a).filter((p) => Number(p) > lastB).length;
    expect(aBehind).toBeGreaterThanOrEqual(185);
    expect(Math.min(...priorities(b).map(Number))).toBeGreaterThanOrEqual(2);
    expect(await tags()).toEqual({ 'tenant-a': 200, 'tenant-b': 12 });

    // BullMQ's own order: A's head first, then B's checks interleaved one for one with A's.
    const order = (await servingOrder(29)).map((j) => j.data.submittedBy);
    expect(order).toHaveLength(30);
    expect(order.slice(0, 3)).toEqual(['tenant-a', 'tenant-a', 'tenant-a']);
    expect(order.slice(3, 23)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'tenant-b' : 'tenant-a')),
    );
    expect(order.slice(23)).toEqual(Array(7).fill('tenant-a'));
  });

  it('starts a newcomer level with the check being served, not ahead of it', async () => {
    await queues.addBulk('batch', requests(200), 'tenant-a');
    // A's first 100 are served (gone from the prioritized set): the head is now at 102.
    for (const job of await servingOrder(99)) await job.remove();
    const head = (await servingOrder(0))[0]!;
    expect(head.opts.priority).toBe(102);
    const b = await queues.addBulk('batch', requests(10), 'tenant-b');
    expect(priorities(b)).toEqual(range(104, 113));
  });

  it("continues a tenant's next submission after its earlier ones", async () => {
    await queues.addBulk('batch', requests(50), 'tenant-a');
    const first = await queues.addBulk('batch', requests(10), 'tenant-b');
    const second = await queues.addBulk('batch', requests(10), 'tenant-b');
    const third = await queues.add('batch', checkRequest(), { submittedBy: 'tenant-b' });
    expect(priorities(first)).toEqual(range(4, 13));
    expect(priorities(second)).toEqual(range(14, 23));
    expect(third.opts.priority).toBe(24);
  });

  it('gives a tenant of weight 2 twice the share (step 0.5)', async () => {
    queues.tenantWeight = (t) => (t === 'tenant-b' ? 2 : 1);
    const a = await queues.addBulk('batch', requests(100), 'tenant-a');
    const b = await queues.addBulk('batch', requests(100), 'tenant-b');
    expect(priorities(a)).toEqual(range(2, 101));
    // Start 2, step 0.5: 1 + floor(2 + 0.5 (i + 1)) = 3, 4, 4, 5, 5, ...
    expect(priorities(b).slice(0, 7)).toEqual([3, 4, 4, 5, 5, 6, 6]);
    expect((await tags())['tenant-b']).toBe(2 + 100 * 0.5);
    const upTo = (jobs: CheckJob[], p: number) => jobs.filter((j) => Number(j.opts.priority) <= p);
    const share = upTo(b, 40).length / upTo(a, 40).length;
    expect(share).toBeGreaterThan(1.85);
    expect(share).toBeLessThan(2.05);

    const order = (await servingOrder(89)).map((j) => j.data.submittedBy);
    const bServed = order.filter((t) => t === 'tenant-b').length;
    expect(bServed).toBeGreaterThanOrEqual(58);
    expect(bServed).toBeLessThanOrEqual(61);
  });

  it('rebases the tags once nothing waits prioritized, so priorities start near 1 again', async () => {
    await queues.addBulk('batch', requests(5), 'tenant-a');
    await queues.addBulk('batch', requests(5), 'tenant-b');
    expect(await tags()).toEqual({ 'tenant-a': 5, 'tenant-b': 7 });
    const served = await drain(10);
    expect(served).toEqual([
      'tenant-a',
      'tenant-a',
      'tenant-a',
      'tenant-b',
      'tenant-a',
      'tenant-b',
      'tenant-a',
      'tenant-b',
      'tenant-b',
      'tenant-b',
    ]);
    const a = await queues.addBulk('batch', requests(3), 'tenant-a');
    expect(priorities(a)).toEqual([2, 3, 4]);
    // B's old finish tag went with the rebase: it starts level with the head, not at 8.
    const b = await queues.addBulk('batch', requests(3), 'tenant-b');
    expect(priorities(b)).toEqual([4, 5, 6]);
    expect(await tags()).toEqual({ 'tenant-a': 3, 'tenant-b': 5 });
  });

  it('never gives a priority above 2^21 - 1, and BullMQ accepts every check', async () => {
    await queues.add('batch', checkRequest(), { submittedBy: 'tenant-b' });
    await redis.hset(new SchedulerKeys(prefix).vtime, 'tenant-a', String(PRIORITY_LIMIT - 2));
    const a = await queues.addBulk('batch', requests(5), 'tenant-a');
    expect(priorities(a)).toEqual(Array(5).fill(PRIORITY_LIMIT));
    const one = await queues.add('batch', checkRequest(), { submittedBy: 'tenant-a' });
    expect(one.opts.priority).toBe(PRIORITY_LIMIT);
    // Past the limit they run in arrival order, after everything else.
    const order = await servingOrder();
    expect(order.map((j) => j.id)).toEqual([order[0]!.id, ...a.map((j) => j.id), one.id]);
  });

  it('gives realtime checks no priority and names an anonymous batch submitter', async () => {
    const rt = await queues.add('realtime', checkRequest(), { submittedBy: 'tenant-a' });
    expect(rt.opts.priority).toBeUndefined();
    const anon = await queues.add('batch', checkRequest());
    expect(anon.opts.priority).toBe(2);
    expect(await tags()).toEqual({ anonymous: 1 });
  });
});
