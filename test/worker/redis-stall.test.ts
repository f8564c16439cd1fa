/**
 * Workers while their Redis is frozen (SIGSTOP) longer than the job lock: Redis's clock runs on, so
 * every lock of a check in progress expires. The workers must keep their checks and the Stedi
 * answers they get (one call per check), whether a call ends during the stall or after it, and
 * whether or not BullMQ's stalled check had marked the checks just before the stall.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueKeys } from 'bullmq';
import type { CheckJob } from '../../src/shared/check-queues.js';
import { queueNames, type Priority } from '../../src/shared/queues.js';
import { checkRequest } from '../support/fixtures.js';
import { freezableRedis, type FreezableRedis } from '../support/freezable-redis.js';
import { until } from '../support/until.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const LOCK_MS = 2_000;
let env: WorkerEnv | undefined;
let redis: FreezableRedis | undefined;
afterEach(async () => {
  redis?.thaw();
  await env?.close();
  await redis?.close();
  env = undefined;
  redis = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A worker environment on a Redis of its own, with short locks. */
async function stallEnv(
  L: number,
  latency: { medianMs: number; sigma: number },
  extra: Record<string, string> = {},
): Promise<{ env: WorkerEnv; redis: FreezableRedis }> {
  const r = await freezableRedis();
  const e = await workerEnv(
    {
      REDIS_URL: r.url,
      STEDI_CONCURRENCY: String(L),
      STEDI_REALTIME_RESERVED: '0',
      STEDI_TIMEOUT_MS: '20000',
      WORKER_LOCK_MS: String(LOCK_MS),
      WORKER_STALLED_INTERVAL_MS: '1000',
      ...extra,
    },
    { concurrency: L, latency: { ...latency, maxMs: 20_000 }, seed: 5 },
  );
  return { env: e, redis: r };
}

async function activeIds(e: WorkerEnv, priority: Priority): Promise<string[]> {
  const keys = new QueueKeys(e.config.QUEUE_PREFIX);
  return e.redis.lrange(keys.toKey(queueNames[priority], 'active'), 0, -1);
}

async function expectOneCallEach(e: WorkerEnv, jobs: CheckJob[]): Promise<void> {
  const states = await Promise.all(jobs.map((j) => e.waitFor(j, ['completed', 'failed'], 60_000)));
  expect(states.every((s) => s === 'completed')).toBe(true);
  for (const job of jobs) {
    const done = await e.queues.get(job.id ?? '');
    expect(done?.returnvalue.response, job.id).toBeTruthy();
  }
  const stats = e.simulator.stats();
  // One Stedi call per check: no answer lost, no check run twice.
  expect(stats.requests).toBe(jobs.length);
  expect(stats.rejected429).toBe(0);
  expect(stats.maxInFlight).toBeLessThanOrEqual(e.config.STEDI_CONCURRENCY);
}

describe('workers through a Redis stall longer than the job lock', () => {
  it('keep checks the stalled check had just marked, and the answers of calls that ended during the stall', async () => {
    ({ env, redis } = await stallEnv(4, { medianMs: 2_500, sigma: 0.2 }));
    await Promise.all([env.startWorker(), env.startWorker()]);
    const jobs = await env.queues.addBulk(
      'batch',
      Array.from({ length: 8 }, (_, i) => checkRequest(`STALL${i}`)),
    );
    await until(() => env!.simulator.stats().inFlight === 4);
    // As BullMQ's stalled check leaves things: every active check marked, to be taken at the next
    // check if its lock is gone by then.
    const keys = new QueueKeys(env.config.QUEUE_PREFIX);
    const active = await activeIds(env, 'batch');
    expect(active.length).toBeGreaterThanOrEqual(4);
    await env.redis.sadd(keys.toKey(queueNames.batch, 'stalled'), ...active);
    redis.freeze();
    // Every call in flight ends meanwhile: its completion needs a lock Redis has let expire.
    await sleep(3 * LOCK_MS);
    redis.thaw();
    await expectOneCallEach(env, jobs);
  }, 90_000);

  it('keep checks whose calls outlast the stall and the grace after it', async () => {
    // Calls of ~8 s: after the stall they run on for longer than the grace and two stalled checks.
    ({ env, redis } = await stallEnv(2, { medianMs: 8_000, sigma: 0.05 }));
    await Promise.all([env.startWorker(), env.startWorker()]);
    const jobs = await env.queues.addBulk('batch', [checkRequest('LONG1'), checkRequest('LONG2')]);
    await until(() => env!.simulator.stats().inFlight === 2);
    const keys = new QueueKeys(env.config.QUEUE_PREFIX);
    // Not marked: only an expired lock that nobody reclaims would let them be taken.
    await env.redis.del(keys.toKey(queueNames.batch, 'stalled'));
    redis.freeze();
    await sleep(2 * LOCK_MS);
    redis.thaw();
    await expectOneCallEach(env, jobs);
  }, 90_000);
});

describe('a check taken away while its call ran', () => {
  it('is completed with the answer its first run kept, without a second call', async () => {
    ({ env, redis } = await stallEnv(
      2,
      { medianMs: 2_000, sigma: 0 },
      {
        WORKER_REALTIME_CONCURRENCY: '1',
      },
    ));
    await env.startWorker();
    const job = await env.queues.add('realtime', checkRequest('TAKEN'));
    await until(() => env!.simulator.stats().inFlight === 1);
    // What BullMQ's stalled check does to a check whose lock expired: back to wait, stall counted.
    const keys = new QueueKeys(env.config.QUEUE_PREFIX);
    const name = queueNames.realtime;
    await env.redis.del(keys.toKey(name, `${job.id}:lock`), keys.toKey(name, 'stalled-check'));
    await env.redis.sadd(keys.toKey(name, 'stalled'), job.id ?? '');
    const checker = new Worker(name, undefined, {
      connection: new Redis(env.config.REDIS_URL, { maxRetriesPerRequest: null }),
      prefix: env.config.QUEUE_PREFIX,
      autorun: false,
      maxStalledCount: 3,
      stalledInterval: 1_000,
    });
    try {
      expect(await checker.getBackend().moveStalledJobsToWait()).toEqual([job.id]);
    } finally {
      await checker.close();
    }
    // The worker (concurrency 1) takes it again only once the first run has its answer.
    expect(await env.waitFor(job, ['completed', 'failed'], 30_000)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.returnvalue.response).toBeTruthy();
    expect(env.simulator.stats().requests).toBe(1);
  }, 60_000);
});
