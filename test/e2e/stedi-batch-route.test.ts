/**
 * The batch route through the whole path: REST → routed checks and chunks → worker → simulated
 * Batch Eligibility API → each check's status, result and summary through GET /v1/eligibility/:id.
 * Routed checks take no real-time slot; Stedi's batch ids are kept; failures map to our classes;
 * a submission whose answer was lost is resubmitted to the same batch, not a second one.
 */
import { describe, expect, it } from 'vitest';
import type { CheckSummary } from '../../src/shared/schemas/check-summary.js';
import { loadMockCatalog } from '../../src/simulator/mock-catalog.js';
import { HttpBatchApiClient } from '../../src/worker/stedi-batch/batch-api-client.js';
import { StediTransportError } from '../../src/worker/stedi/stedi-transport-error.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { checkRequest } from '../support/fixtures.js';
import { enqueuedCount, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv } from '../support/worker-env.js';

const mocks = loadMockCatalog();
const mock = (id: string) => mocks.find((m) => m.id === id)?.request;

interface View {
  id: string;
  status: string;
  route?: string;
  stediBatchId?: string;
  result?: { errors?: { code: string }[]; batchId?: string };
  summary?: CheckSummary;
  failureReason?: string;
}

const keep = closedAfterEach();

/** Time runs 10,000 times faster at the simulator: maxRetryHours 8 is 2.9 s, a retry 30 ms. */
const timeScale = 0.0001;

async function stack(settings: Record<string, string> = {}) {
  const route = {
    STEDI_BATCH_CHUNK_SIZE: '4',
    STEDI_BATCH_POLL_MS: '100',
    STEDI_BATCH_POLL_MAX_MS: '400',
    STEDI_BATCH_GRACE_MS: '20000',
    ...settings,
  };
  const w = keep(
    await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1', ...route },
      {
        concurrency: 2,
        timeScale,
        latency: { medianMs: 200_000, sigma: 0, maxMs: 900_000 },
        batch: { concurrency: 5, latencyMedianMs: 300_000, retryMs: 300_000, submitMs: 200_000 },
      },
    ),
  );
  const p = keep(await producerEnv({ ...w.deployment, ...route }));
  return { w, p };
}

async function view(env: ProducerEnv, id: string): Promise<View> {
  return (await (await env.call(`/v1/eligibility/${id}`)).json()) as View;
}

async function finished(env: ProducerEnv, ids: readonly string[], timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  const out = new Map<string, View>();
  for (const id of ids) {
    for (;;) {
      const v = await view(env, id);
      if (v.status === 'completed' || v.status === 'failed') {
        out.set(id, v);
        break;
      }
      if (Date.now() > deadline) throw new Error(`check ${id} still ${v.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return out;
}

async function submit(env: ProducerEnv, body: unknown) {
  const res = await env.call('/v1/eligibility/batch', {
    method: 'POST',
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    body: (await res.json()) as {
      runId?: string;
      route?: string;
      checks: { id: string; status: string }[];
      issues?: { path: string }[];
    },
  };
}

describe("batch route to Stedi's Batch Eligibility API", () => {
  it('runs a routed submission to the end without a real-time slot, each check readable', async () => {
    const { w, p } = await stack();
    await w.startWorker();
    const items = [
      mock('uhc'),
      mock('aaa-75'),
      mock('aaa-42'),
      checkRequest('ROUTED1', 'NOPAYER'),
      ...Array.from({ length: 6 }, (_, i) => checkRequest(`ROUTED${i + 2}`)),
    ];
    // 9 hours (not the default 8): what Stedi receives must be the submission's.
    const { status, body, location } = await submit(p, {
      items,
      route: 'stedi-batch',
      maxRetryHours: 9,
    });
    expect(status).toBe(202);
    expect(body.route).toBe('stedi-batch');
    // A run like any other: followed at /v1/runs/:id.
    expect(body.runId).toMatch(/^bt_/);
    expect(location).toBe(`/v1/runs/${body.runId}`);
    const ids = body.checks.map((c) => c.id);
    expect(ids.every((id) => id.startsWith('sb_'))).toBe(true);
    // While Stedi retries the AAA 42 item, its check shows the batch id and cannot be cancelled.
    const aaa42 = ids[2] ?? '';
    for (let v = await view(p, aaa42); !v.stediBatchId; v = await view(p, aaa42)) {
      expect(v.status).toBe('delayed');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await p.call(`/v1/eligibility/${aaa42}`, { method: 'DELETE' })).status).toBe(409);
    const views = await finished(p, ids);
    const byItem = (i: number) => views.get(ids[i] ?? '') as View;
    // A clean answer, with the batch id, the route and a summary.
    expect(byItem(0)).toMatchObject({
      status: 'completed',
      route: 'stedi-batch',
      stediBatchId: expect.any(String),
      summary: { answeredBy: 'stedi-batch', coverage: 'active', serviceTypes: ['30'] },
    });
    expect(byItem(0).result?.batchId).toBe(byItem(0).stediBatchId);
    // A definitive AAA answer is kept; AAA 42 outlives Stedi's retries and fails, saying so.
    expect(byItem(1)).toMatchObject({ status: 'completed', summary: { errors: [{ code: '75' }] } });
    expect(byItem(2).status).toBe('failed');
    expect(byItem(2).failureReason).toContain('AAA 42');
    expect(byItem(2).failureReason).toContain('maxRetryHours');
    // An unknown payer comes back as Stedi's example has it: AAA 79.
    expect(byItem(3)).toMatchObject({ status: 'completed', result: { errors: [{ code: '79' }] } });
    for (let i = 4; i < items.length; i++) expect(byItem(i).status).toBe('completed');
    // Three chunks of at most four, each one batch at Stedi; not one real-time call.
    expect(new Set([...views.values()].map((v) => v.stediBatchId)).size).toBe(3);
    expect(w.simulator.batchStats()).toMatchObject({
      batchesCreated: 3,
      duplicateItems: 0,
      maxRetryHours: [9, 9, 9],
    });
    expect(w.simulator.stats().requests).toBe(0);
    const metrics = await (await p.call('/metrics', { key: null })).text();
    expect(metrics).toMatch(/eq_queue_jobs\{priority="stedi-batch",state="completed"\} 9/);
    expect(metrics).toMatch(/eq_queue_jobs\{priority="stedi-batch",state="failed"\} 1/);
    // The run counts them as they are, and exports every result.
    const run = (await (await p.call(`/v1/runs/${body.runId}`)).json()) as {
      status: string;
      route?: string;
      counts: Record<string, number>;
    };
    expect(run).toMatchObject({
      status: 'completed',
      route: 'stedi-batch',
      counts: { completed: 9, failed: 1, waiting: 0, delayed: 0, active: 0 },
    });
    const rows = (await (await p.call(`/v1/runs/${body.runId}/results`)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { checkId: string; status: string; aaaCodes: string[] });
    expect(rows.map((r) => r.checkId).sort()).toEqual([...ids].sort());
    expect(rows.find((r) => r.checkId === ids[1])?.aaaCodes).toEqual(['75']);
    expect(rows.find((r) => r.checkId === ids[2])?.status).toBe('failed');
  });

  it('cancels the checks of a routed run Stedi does not have yet, and leaves those it has', async () => {
    // No worker: nothing is sent to Stedi unless the test says so.
    const { w, p } = await stack();
    const items = [checkRequest('C1'), checkRequest('C2'), checkRequest('C3')];
    const { body } = await submit(p, { items, route: 'stedi-batch' });
    const [atStedi, ...notSent] = body.checks.map((c) => c.id);
    // As a chunk's poller stamps its checks once Stedi accepted it.
    const job = await w.queues.stediBatch.checks.getJob(atStedi ?? '');
    await job?.updateData({ ...job.data, stediBatchId: 'batch-at-stedi' });
    const res = await p.call(`/v1/runs/${body.runId}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'cancelling',
      cancelledNow: 2,
      counts: { cancelled: 2, delayed: 1 },
    });
    for (const id of notSent) expect((await view(p, id)).status).toBeUndefined();
    expect((await view(p, atStedi ?? '')).stediBatchId).toBe('batch-at-stedi');
  });

  it('routes by the size threshold unless a submission says otherwise, and refuses what cannot go', async () => {
    const { p } = await stack({ STEDI_BATCH_ROUTE_MIN_ITEMS: '3' });
    const three = [checkRequest('T1'), checkRequest('T2'), checkRequest('T3')];
    expect((await submit(p, { items: three })).body.route).toBe('stedi-batch');
    expect((await submit(p, { items: three.slice(0, 2) })).body.route).toBeUndefined();
    expect((await submit(p, { items: three, route: 'realtime' })).body.route).toBeUndefined();
    const before = await enqueuedCount(p.queues);
    const retry = await submit(p, { items: three.slice(0, 2), maxRetryHours: 12 });
    expect(retry.status).toBe(400);
    expect(retry.body.issues?.map((i) => i.path)).toEqual(['maxRetryHours']);
    const unfit = await submit(p, {
      items: [
        checkRequest('T4'),
        {
          payerId: '87726',
          provider: { name: { organization: 'Clinic' }, npi: '1999999984' },
          subscriber: { memberId: 'T5' },
          eligibilitySearchId: 'es_1',
        },
      ],
      route: 'stedi-batch',
    });
    expect(unfit.status).toBe(400);
    expect(unfit.body.issues?.map((i) => i.path)).toEqual(['items.1.eligibilitySearchId']);
    expect(await enqueuedCount(p.queues)).toBe(before);
    // A retried routed POST with its Idempotency-Key is the same run: the same checks, once.
    const again = async () =>
      (
        await p.call('/v1/eligibility/batch', {
          method: 'POST',
          body: JSON.stringify({ items: three, route: 'stedi-batch' }),
          headers: { 'idempotency-key': 'routed-run-1' },
        })
      ).json() as Promise<{ checks: { id: string }[] }>;
    const first = await again();
    const routedBefore = await p.queues.stediBatch.checks.count();
    expect((await again()).checks).toEqual(first.checks);
    expect(await p.queues.stediBatch.checks.count()).toBe(routedBefore);
  });

  it('resubmits a chunk whose answer was lost to the same batch (Idempotency-Key), not a second', async () => {
    const { w, p } = await stack();
    const http = new HttpBatchApiClient({ baseUrl: w.simulator.url, apiKey: 'dev-key' });
    let lost = 0;
    await w.startWorker(
      {},
      {
        stediBatchApi: {
          submit: async (body, key) => {
            const reply = await http.submit(body, key);
            // Stedi accepted it; the answer never reaches us (a crash, a cut connection).
            if (lost++ === 0) throw new StediTransportError('answer lost after Stedi accepted');
            return reply;
          },
          status: (id) => http.status(id),
          items: (id, token, states) => http.items(id, token, states),
          results: (id, token) => http.results(id, token),
        },
      },
    );
    const { body } = await submit(p, {
      items: [checkRequest('L1'), checkRequest('L2')],
      route: 'stedi-batch',
    });
    const views = await finished(
      p,
      body.checks.map((c) => c.id),
    );
    expect([...views.values()].map((v) => v.status)).toEqual(['completed', 'completed']);
    expect(w.simulator.batchStats()).toMatchObject({
      submitRequests: 2,
      replays: 1,
      batchesCreated: 1,
      duplicateItems: 0,
    });
  });
});
