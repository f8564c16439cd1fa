/** The worker's /metrics as Prometheus scrapes it: the series the dashboard and alert rules use. */
import { afterEach, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

describe('worker /metrics', () => {
  it('exports L and R, call latency by outcome, and the submission-to-call wait of first attempts', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '3', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 3, latency: { medianMs: 20, sigma: 0, maxMs: 1_000 } },
    );
    const app = await env.startWorker({ WORKER_METRICS_PORT: '0' });
    const done = await env.queues.add('realtime', checkRequest('MET1'));
    const failed = await env.queues.add('batch', checkRequest('MET2', 'NOSUCHPAYER'));
    expect(await env.waitFor(done)).toBe('completed');
    expect(await env.waitFor(failed)).toBe('failed');
    const text = await (await fetch(app.metricsUrl ?? '')).text();
    expect(text).toMatch(/^eq_allocation_slots 3$/m);
    expect(text).toMatch(/^eq_realtime_reserved_slots 1$/m);
    expect(text).toMatch(/^eq_stedi_call_seconds_count\{pool="realtime",outcome="answer"\} 1$/m);
    expect(text).toMatch(/^eq_stedi_call_seconds_count\{pool="batch",outcome="rejected"\} 1$/m);
    expect(text).toMatch(/^eq_check_wait_seconds_count\{pool="realtime"\} 1$/m);
    expect(text).toMatch(/^eq_check_wait_seconds_count\{pool="batch"\} 1$/m);
  });
});
