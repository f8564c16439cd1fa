/**
 * The batch route's edges, against the simulated Batch Eligibility API with one call answered
 * otherwise: a refused submission fails its checks with a reason; throttled submissions and
 * failing status reads come back later, with growing waits rather than a tight loop; past the
 * give-up bound what is left fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StediReply } from '../../src/worker/stedi/stedi-client.js';
import {
  HttpBatchApiClient,
  type BatchApiClient,
} from '../../src/worker/stedi-batch/batch-api-client.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function setup(batchLatencyMs = 20): Promise<WorkerEnv> {
  env = await workerEnv(
    { STEDI_BATCH_POLL_MS: '100', STEDI_BATCH_POLL_MAX_MS: '400' },
    {
      // The batch pipeline's latency shares the real-time bound (maxMs).
      latency: { medianMs: 20, sigma: 0, maxMs: Math.max(1_000, 2 * batchLatencyMs) },
      batch: { concurrency: 4, latencyMedianMs: batchLatencyMs, retryMs: 1_000, submitMs: 0 },
    },
  );
  return env;
}

/** The simulator's client with `call` answered by `answer` while it returns a reply. */
function scripted(
  e: WorkerEnv,
  call: 'submit' | 'status',
  answer: (n: number) => StediReply | undefined,
): BatchApiClient & { calls: () => number } {
  const http = new HttpBatchApiClient({ baseUrl: e.simulator.url, apiKey: 'dev-key' });
  let n = 0;
  const wrap =
    <A extends unknown[]>(name: string, real: (...a: A) => Promise<StediReply>) =>
    async (...a: A) => {
      if (name !== call) return real(...a);
      const reply = answer(n++);
      return reply ?? real(...a);
    };
  return {
    submit: wrap('submit', (b, k) => http.submit(b, k)),
    status: wrap('status', (id) => http.status(id)),
    items: (id, token, states) => http.items(id, token, states),
    results: (id, token) => http.results(id, token),
    calls: () => n,
  };
}

const run = (e: WorkerEnv, n: number, giveUpMarginMs = 60_000) =>
  e.queues.stediBatch.addRun(
    Array.from({ length: n }, (_, i) => checkRequest(`EDGE${i}`)),
    {
      runId: `edge-${Date.now()}`,
      chunkSize: 10,
      maxRetryHours: 8,
      giveUpMarginMs,
      keepCompletedSeconds: 3_600,
      keepFailedSeconds: 3_600,
    },
  );

describe('batch route edges', () => {
  it('fails the checks of a chunk Stedi refuses, with the status in the reason', async () => {
    const e = await setup();
    await e.startWorker(
      {},
      {
        stediBatchApi: scripted(e, 'submit', () => ({ status: 400, body: { message: 'no' } })),
      },
    );
    const jobs = await run(e, 3);
    for (const job of jobs) expect(await e.waitFor(job)).toBe('failed');
    const failed = await e.queues.get(jobs[0]?.id ?? '');
    expect(failed?.failedReason).toContain("Stedi's Batch Eligibility API refused the chunk (400)");
    expect(e.simulator.batchStats().batchesCreated).toBe(0);
  });

  it('submits again after 429s, and reads status again after 503s, waiting longer each time', async () => {
    const e = await setup();
    const submit = scripted(e, 'submit', (n) => (n < 2 ? { status: 429, body: {} } : undefined));
    await e.startWorker({}, { stediBatchApi: submit });
    const jobs = await run(e, 4);
    for (const job of jobs) expect(await e.waitFor(job)).toBe('completed');
    expect(submit.calls()).toBe(3);
    expect(e.simulator.batchStats().batchesCreated).toBe(1);
    await e.close();

    const f = await setup();
    env = f;
    const until = Date.now() + 1_500;
    const status = scripted(f, 'status', () =>
      Date.now() < until ? { status: 503, body: {} } : undefined,
    );
    await f.startWorker({}, { stediBatchApi: status });
    const more = await run(f, 4);
    for (const job of more) expect(await f.waitFor(job)).toBe('completed');
    // 1.5 s of errors at waits of 100, 200, 400, 400 … ms: a handful of reads, not a loop.
    expect(status.calls()).toBeGreaterThanOrEqual(3);
    expect(status.calls()).toBeLessThan(12);
  });

  it('fails what Stedi has not answered by the give-up bound, saying so', async () => {
    const e = await setup(60_000);
    await e.startWorker();
    // The bound 1.5 s after submission (maxRetryHours 8 and a margin of 1.5 s minus 8 hours).
    const jobs = await run(e, 2, -8 * 3_600_000 + 1_500);
    for (const job of jobs) expect(await e.waitFor(job, undefined, 20_000)).toBe('failed');
    const failed = await e.queues.get(jobs[0]?.id ?? '');
    expect(failed?.failedReason).toMatch(/gave no answer for this check within 8 hours/);
  });
});
