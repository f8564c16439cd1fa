/**
 * The scheduler as workers run it: run-time limits reach every worker, a down payer's breaker
 * parks its batch checks without spending attempts while other payers run, and a realtime check
 * to an open payer fails at once with a clear reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('scheduler in the workers', () => {
  it('applies a tenant limit changed through PUT /admin/limits in every worker within 5 s', async () => {
    // Default refresh (LIMITS_REFRESH_MS 1 s), as deployed.
    env = await workerEnv(
      { STEDI_CONCURRENCY: '4', STEDI_REALTIME_RESERVED: '0' },
      { concurrency: 4, latency: { medianMs: 200, sigma: 0, maxMs: 1_000 } },
    );
    await Promise.all([env.startWorker(), env.startWorker()]);
    const jobs = await env.queues.addBulk(
      'batch',
      Array.from({ length: 120 }, (_, i) => checkRequest(`SIMT${i}`)),
      'tenant-a',
    );
    await sleep(1_000);
    expect(env.simulator.stats().maxInFlight).toBe(4);
    const producer = await producerEnv({ ...env.deployment, STEDI_CONCURRENCY: '4' });
    try {
      const res = await producer.call('/admin/limits', {
        method: 'PUT',
        body: JSON.stringify({ tenants: { 'tenant-a': { maxConcurrency: 1 } } }),
      });
      expect(res.status).toBe(200);
    } finally {
      await producer.close();
    }
    await sleep(5_000);
    const completed = async () =>
      (await Promise.all(jobs.map((j) => j.getState()))).filter((st) => st === 'completed').length;
    const before = await completed();
    let most = 0;
    for (let i = 0; i < 80; i++) {
      most = Math.max(most, env.simulator.stats().inFlight);
      await sleep(50);
    }
    // Never more than the new limit, in either worker; and the tenant still gets its one slot.
    expect(most).toBeLessThanOrEqual(1);
    expect(await completed()).toBeGreaterThan(before);
    expect(await jobs[0]!.getState()).toBe('completed');
  });

  it("parks a down payer's batch checks without attempts while other payers run, and fails realtime to it at once", async () => {
    env = await workerEnv(
      {
        STEDI_CONCURRENCY: '3',
        STEDI_REALTIME_RESERVED: '0',
        CIRCUIT_FAILURE_THRESHOLD: '2',
        CIRCUIT_COOLDOWN_MS: '60000',
        BATCH_ATTEMPTS: '20',
      },
      {
        concurrency: 3,
        latency: { medianMs: 50, sigma: 0, maxMs: 1_000 },
        payers: { DOWN: { outage: { aaa: '42', afterMs: 300 } } },
      },
    );
    await env.startWorker();
    const down = await env.queues.addBulk(
      'batch',
      Array.from({ length: 10 }, (_, i) => checkRequest(`SIMD${i}`, 'DOWN')),
    );
    const healthy = await env.queues.addBulk(
      'batch',
      Array.from({ length: 40 }, (_, i) => checkRequest(`SIMH${i}`)),
    );
    for (const job of healthy) expect(await env.waitFor(job)).toBe('completed');
    await sleep(1_500);
    const downCalls = env.simulator.stats().byPayer.DOWN?.started ?? 0;
    // Two failures open the breaker; the payer started at 2, so a few calls at most.
    expect(downCalls).toBeLessThanOrEqual(4);
    let attempts = 0;
    for (const j of down) {
      const job = await env.queues.get(j.id ?? '');
      attempts += job?.attemptsMade ?? 0;
      expect(await job?.getState()).toMatch(/delayed|waiting|prioritized/);
    }
    expect(attempts).toBeLessThanOrEqual(downCalls);
    // The breaker shows in the metrics while every DOWN check is parked (no worker holds one):
    // the producer reads it from the shared state, open for DOWN only.
    const producer = await producerEnv(env.deployment);
    try {
      const metrics = await (await producer.call('/metrics', { key: null })).text();
      expect(metrics).toMatch(/^eq_payer_breaker_open\{payer="DOWN"\} 1$/m);
      expect(metrics).toMatch(/^eq_payer_breaker_open\{payer="87726"\} 0$/m);
    } finally {
      await producer.close();
    }

    const before = env.simulator.stats().byPayer.DOWN?.started ?? 0;
    const rt = await env.queues.add('realtime', checkRequest('SIMDRT', 'DOWN'));
    const t0 = Date.now();
    expect(await env.waitFor(rt)).toBe('failed');
    expect(Date.now() - t0).toBeLessThan(1_000);
    const failed = await env.queues.get(rt.id ?? '');
    expect(failed?.failedReason).toMatch(/payer unavailable: payer DOWN/);
    expect(env.simulator.stats().byPayer.DOWN?.started ?? 0).toBe(before);
  });
});
