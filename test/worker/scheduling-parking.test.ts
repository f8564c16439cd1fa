/**
 * A tenant held to few slots has its checks parked at once, at the back of its line: parking must
 * not advance the tenant's fair-queue tag, and a check parked again and again backs off, so the
 * backlog does not keep going round the workers every second.
 */
import { afterEach, expect, it } from 'vitest';
import { LimitsStore } from '../../src/shared/scheduling/limits-store.js';
import { SchedulerKeys } from '../../src/shared/scheduling/keys.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('parks held-back checks without charging their tenant, backing off per check', async () => {
  env = await workerEnv(
    { STEDI_CONCURRENCY: '4', STEDI_REALTIME_RESERVED: '0', LIMITS_REFRESH_MS: '200' },
    { concurrency: 4, latency: { medianMs: 500, sigma: 0, maxMs: 1_000 } },
  );
  await new LimitsStore(env.redis, env.config.QUEUE_PREFIX).set(
    { tenants: { 'tenant-a': { maxConcurrency: 1 } } },
    'test',
  );
  const app = await env.startWorker();
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 200 }, (_, i) => checkRequest(`SIMA${i}`)),
    'tenant-a',
  );
  const vtime = new SchedulerKeys(env.config.QUEUE_PREFIX).vtime;
  const tagAtStart = Number(await env.redis.hget(vtime, 'tenant-a'));
  const parkedSoFar = async () =>
    (await app.metrics.parked.get()).values.reduce((s, v) => s + v.value, 0);
  await sleep(4_500);
  const early = await parkedSoFar();
  await sleep(3_000);
  const late = (await parkedSoFar()) - early;
  const tagAfter = Number(await env.redis.hget(vtime, 'tenant-a'));
  // Each of the 200 checks is parked after 1 s, then 2 s, then every 4 s: the later window sees
  // far fewer parks than the first. Re-tagging at every park used to add one check's worth to the
  // tenant's tag each time (hundreds in seconds).
  expect(early).toBeGreaterThan(300);
  expect(late).toBeLessThan(early / 2);
  expect(tagAfter).toBe(tagAtStart);
}, 40_000);
