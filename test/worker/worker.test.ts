import { afterEach, describe, expect, it } from 'vitest';
import { loadMockCatalog } from '../../src/simulator/mock-catalog.js';
import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const mocks = loadMockCatalog();
const mock = (id: string) =>
  mocks.find((m) => m.id === id)?.request as unknown as EligibilityRequest;
const fast = { latency: { medianMs: 20, sigma: 0, maxMs: 1_000 } };

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('worker: outcomes', () => {
  it('completes a realtime check with the simulator answer as its result', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 2, ...fast },
    );
    await env.startWorker();
    const job = await env.queues.add('realtime', checkRequest());
    expect(await env.waitFor(job)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    expect(env.queues.cipher.open(done!.returnvalue.response)).toMatchObject({
      meta: { traceId: expect.any(String) },
    });
    expect(done?.returnvalue.aaaCodes).toEqual([]);
    expect(env.simulator.stats().maxInFlight).toBeLessThanOrEqual(2);
  });

  it('completes definitive AAA answers without retry (AAA 75: subscriber not found)', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 2, ...fast },
    );
    await env.startWorker();
    const job = await env.queues.add('batch', mock('aaa-75'));
    expect(await env.waitFor(job)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.returnvalue.aaaCodes).toEqual(['75']);
    expect(done?.attemptsMade).toBe(1);
  });

  it('retries AAA 42 with backoff, then fails with a reason a person can act on', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1', REALTIME_ATTEMPTS: '3' },
      { concurrency: 2, ...fast },
    );
    await env.startWorker();
    const job = await env.queues.add('realtime', mock('aaa-42'));
    expect(await env.waitFor(job)).toBe('failed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.attemptsMade).toBe(3);
    expect(done?.failedReason).toContain('AAA 42');
    expect(env.simulator.stats().outcomes['aaa-42']).toBe(3);
  });

  it('fails an unknown payer at once (400, code 33) without retry', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1', REALTIME_ATTEMPTS: '3' },
      { concurrency: 2, ...fast },
    );
    await env.startWorker();
    const job = await env.queues.add('realtime', checkRequest('SIM1', 'NOSUCHPAYER'));
    expect(await env.waitFor(job)).toBe('failed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.attemptsMade).toBe(1);
    expect(done?.failedReason).toContain('code 33');
  });

  it('fails without retry when Stedi refuses the API key', async () => {
    env = await workerEnv(
      {
        STEDI_CONCURRENCY: '2',
        STEDI_REALTIME_RESERVED: '1',
        STEDI_API_KEY: 'wrong',
        REALTIME_ATTEMPTS: '3',
      },
      { concurrency: 2, ...fast },
    );
    await env.startWorker();
    const job = await env.queues.add('realtime', checkRequest());
    expect(await env.waitFor(job)).toBe('failed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.attemptsMade).toBe(1);
    expect(done?.failedReason).toContain('API key');
  });

  it('puts 429s back to wait without spending attempts, and counts them', async () => {
    // Misconfigured on purpose: the worker believes in 3 slots, the account has 1.
    env = await workerEnv(
      { STEDI_CONCURRENCY: '3', STEDI_REALTIME_RESERVED: '0', REALTIME_ATTEMPTS: '1' },
      { concurrency: 1, latency: { medianMs: 100, sigma: 0, maxMs: 1_000 } },
    );
    const app = await env.startWorker();
    const jobs = await Promise.all(
      Array.from({ length: 4 }, (_, i) => env!.queues.add('realtime', checkRequest(`SIM${i}`))),
    );
    for (const job of jobs) expect(await env.waitFor(job)).toBe('completed');
    expect(env.simulator.stats().rejected429).toBeGreaterThan(0);
    const throttled = await app.metrics.throttled.get();
    expect(throttled.values[0]?.value).toBe(env.simulator.stats().rejected429);
  });
});

describe('worker: allocation and priority', () => {
  it('two worker processes run a batch backlog without exceeding the allocation or any 429', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '4', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 4, latency: { medianMs: 60, sigma: 0.5, maxMs: 1_000 } },
    );
    const children = [env.spawnWorker(), env.spawnWorker()];
    const jobs = await env.queues.addBulk(
      'batch',
      Array.from({ length: 80 }, (_, i) => checkRequest(`SIMB${i}`)),
    );
    const realtime = await env.queues.add('realtime', checkRequest('SIMRT'));
    for (const job of [...jobs, realtime])
      expect(await env.waitFor(job, undefined, 60_000)).toBe('completed');
    const stats = env.simulator.stats();
    expect(stats.maxInFlight).toBeLessThanOrEqual(4);
    expect(stats.rejected429).toBe(0);
    expect(children.every((c) => c.exitCode === null)).toBe(true);
  });

  it('starts a realtime check within milliseconds on the floor while batch saturates the rest', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '3', STEDI_REALTIME_RESERVED: '1', STEDI_REALTIME_FLOOR: '1' },
      { concurrency: 3, latency: { medianMs: 300, sigma: 0, maxMs: 1_000 } },
    );
    await env.startWorker();
    const batch = await env.queues.addBulk(
      'batch',
      Array.from({ length: 20 }, (_, i) => checkRequest(`SIMB${i}`)),
    );
    await new Promise((r) => setTimeout(r, 700));
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const job = await env.queues.add('realtime', checkRequest(`SIMRT${i}`));
      expect(await env.waitFor(job)).toBe('completed');
      const done = await env.queues.get(job.id ?? '');
      waits.push((done?.returnvalue.callStartedAt ?? Infinity) - (done?.data.submittedAt ?? 0));
    }
    expect(await batch[0]!.getState()).not.toBe('failed');
    expect(Math.max(...waits)).toBeLessThan(150);
    expect(env.simulator.stats().maxInFlight).toBeLessThanOrEqual(3);
  });
});
