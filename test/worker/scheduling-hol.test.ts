/**
 * No head-of-line blocking: checks held back by their payer's cap or their tenant's limit never
 * keep other payers' or tenants' checks from free slots, fetched or not.
 */
import { afterEach, expect, it } from 'vitest';
import { LimitsStore } from '../../src/shared/scheduling/limits-store.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("holds a capped payer to its cap while another payer's checks still wait in the queue", async () => {
  env = await workerEnv(
    { STEDI_CONCURRENCY: '4', STEDI_REALTIME_RESERVED: '0', PAYER_CAPS: 'SLOW=1' },
    {
      concurrency: 4,
      latency: { medianMs: 50, sigma: 0, maxMs: 1_000 },
      payers: { SLOW: { latency: { medianMs: 1_500, sigma: 0, maxMs: 3_000 } } },
    },
  );
  await env.startWorker();
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 12 }, (_, i) => checkRequest(`SIMS${i}`, 'SLOW')),
  );
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 12 }, (_, i) => checkRequest(`SIMF${i}`)),
  );
  // The other payer's checks were not fetched yet (every lane held a SLOW check), yet they wait:
  // SLOW keeps to its cap of 1 until they have all started (then it may use what is free), its
  // held-back checks give their lanes up within a quarter second each.
  let slowMost = 0;
  const t0 = Date.now();
  while ((env.simulator.stats().byPayer['87726']?.started ?? 0) < 12 && Date.now() - t0 < 8_000) {
    slowMost = Math.max(slowMost, env.simulator.stats().byPayer.SLOW?.inFlight ?? 0);
    await sleep(20);
  }
  expect(env.simulator.stats().byPayer['87726']?.started ?? 0).toBe(12);
  // ~1 s on a quiet machine, up to ~4 s when the suite's other files load both cores; head-of-
  // line blocking (lanes kept by SLOW checks, 1.5 s each) takes well over 10 s.
  expect(Date.now() - t0).toBeLessThan(5_000);
  expect(slowMost).toBe(1);
}, 30_000);

it("does not let a tenant held to 1 slot keep another tenant's checks from the free slots", async () => {
  env = await workerEnv(
    { STEDI_CONCURRENCY: '4', STEDI_REALTIME_RESERVED: '0', LIMITS_REFRESH_MS: '200' },
    { concurrency: 4, latency: { medianMs: 200, sigma: 0, maxMs: 1_000 } },
  );
  await new LimitsStore(env.redis, env.config.QUEUE_PREFIX).set(
    { tenants: { 'tenant-a': { maxConcurrency: 1 } } },
    'test',
  );
  await env.startWorker();
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 60 }, (_, i) => checkRequest(`SIMA${i}`)),
    'tenant-a',
  );
  const b = await env.queues.addBulk(
    'batch',
    Array.from({ length: 30 }, (_, i) => checkRequest(`SIMB${i}`)),
    'tenant-b',
  );
  const t0 = Date.now();
  // Slot-time as the simulator keeps it: exact, where 100 ms samples of 200 ms calls are noisy.
  const busy0 = env.simulator.stats().busySlotMs;
  let bDone = 0;
  while (Date.now() - t0 < 12_000) {
    await sleep(100);
    bDone = 0;
    for (const j of b) if ((await j.getState()) === 'completed') bDone++;
    if (bDone === b.length) break;
  }
  const seconds = (Date.now() - t0) / 1000;
  const meanInFlight = (env.simulator.stats().busySlotMs - busy0) / (seconds * 1000);
  // Tenant-b has the 3 slots tenant-a may not use: 30 x 200 ms / 3 = 2 s, about 4 in flight.
  // Held-back checks that kept their lanes (or came back ahead) gave ~6.5 s and < 2 in flight.
  // The mean includes the ramp and the tail, so on a loaded CI machine it sits near 2.7: the bar
  // is set between that and the defect's figure. The whole test takes 2.7-2.9 s alone; a loaded
  // suite gave 4.3 s once, so the time bar sits between that and the defect's 6.5 s.
  expect(bDone).toBe(b.length);
  expect(seconds).toBeLessThan(5);
  expect(meanInFlight).toBeGreaterThan(2.3);
}, 60_000);

it('does not let checks their tenant holds back cap another payer through the queue head', async () => {
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: '4',
      STEDI_REALTIME_RESERVED: '0',
      LIMITS_REFRESH_MS: '200',
      PAYER_CAP: '50%',
      PAYER_INITIAL_CONCURRENCY: '4',
    },
    {
      concurrency: 4,
      latency: { medianMs: 300, sigma: 0, maxMs: 1_000 },
      payers: { OTHER: { latency: { medianMs: 300, sigma: 0, maxMs: 1_000 } } },
    },
  );
  await new LimitsStore(env.redis, env.config.QUEUE_PREFIX).set(
    { tenants: { 'tenant-a': { maxConcurrency: 1 } } },
    'test',
  );
  await env.startWorker();
  // tenant-a: payer OTHER, held to 1 slot by its tenant limit. tenant-b: payer 87726, no limit.
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 150 }, (_, i) => checkRequest(`SIMA${i}`, 'OTHER')),
    'tenant-a',
  );
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 150 }, (_, i) => checkRequest(`SIMB${i}`)),
    'tenant-b',
  );
  await sleep(1_000);
  let samples = 0;
  let bSum = 0;
  let totalSum = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    const s = env.simulator.stats();
    samples++;
    bSum += s.byPayer['87726']?.inFlight ?? 0;
    totalSum += s.inFlight;
  }
  // Work-conserving: tenant-a can use 1 slot, so payer 87726 has the other 3 (before: ~1.9 of 3,
  // its cap applied on account of queued checks that their tenant held back).
  expect(bSum / samples).toBeGreaterThan(2.3);
  expect(totalSum / samples).toBeGreaterThan(3.2);
}, 30_000);

it("holds a capped payer's checks back, not asking again and again, once the token take saw another payer queued", async () => {
  // Twice as many lanes as slots; the other payer's run is enqueued after the worker last looked
  // at the queue, so only the token take's own look sees it.
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: '4',
      STEDI_REALTIME_RESERVED: '0',
      PAYER_CAPS: 'SLOW=1',
      PAYER_INITIAL_CONCURRENCY: '4',
      WORKER_BATCH_CONCURRENCY: '8',
    },
    {
      concurrency: 4,
      latency: { medianMs: 50, sigma: 0, maxMs: 1_000 },
      payers: { SLOW: { latency: { medianMs: 400, sigma: 0, maxMs: 3_000 } } },
    },
  );
  const app = await env.startWorker();
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 14 }, (_, i) => checkRequest(`SIMS${i}`, 'SLOW')),
  );
  await sleep(300);
  await env.queues.addBulk(
    'batch',
    Array.from({ length: 12 }, (_, i) => checkRequest(`SIMF${i}`)),
  );
  const t0 = Date.now();
  while ((env.simulator.stats().byPayer['87726']?.started ?? 0) < 12 && Date.now() - t0 < 10_000)
    await sleep(20);
  const raced = Number(
    /^eq_checks_parked_total\{reason="limit-raced"\} (\d+)$/m.exec(
      await app.metrics.registry.metrics(),
    )?.[1] ?? 0,
  );
  // Each refused take asks again at once unless the check is held back: hundreds in a second
  // or two (266 seen), while the capped payer's held checks kept every lane.
  expect(raced).toBeLessThanOrEqual(16);
  expect(Date.now() - t0).toBeLessThan(3_000);
}, 30_000);
