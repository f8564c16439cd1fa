/**
 * REVIEW (not for commit): a check held back by its tenant's limit is parked at once and re-tagged
 * at the back of its tenant's fair order. The freed lane fetches the tenant's next check, parks it
 * too, and so on: the whole backlog cycles through fetch/park every ~1.25 s, and every park adds
 * 1/weight to the tenant's virtual finish tag (which cannot rebase while its checks sit delayed).
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

it('tenant-held checks churn through fetch/park and inflate the tenant tag', async () => {
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
  const seconds = 3;
  await sleep(seconds * 1_000);
  const parked = (await app.metrics.parked.get()).values.reduce((s, v) => s + v.value, 0);
  const tagAfter = Number(await env.redis.hget(vtime, 'tenant-a'));
  const started = env.simulator.stats().byPayer['87726']?.started ?? 0;
  console.log({ seconds, started, parked, tagAtStart, tagAfter });
  // Before the fix: a held-back check kept its lane for parkAfterMs (1 s), so at most
  // (lanes - 1) parks a second and no re-tag: <= ~10 parks here, tag unchanged.
  expect(parked).toBeGreaterThan(100);
  expect(tagAfter - tagAtStart).toBeGreaterThan(100);
}, 30_000);
