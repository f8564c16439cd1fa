/**
 * The simulated Batch Eligibility API: submit (limits, maxRetryHours, Idempotency-Key), its own
 * pipeline beside a full real-time allocation, status counts, item states, paged results.
 */
import { describe, expect, it } from 'vitest';
import { batchApiPaths, ELIGIBILITY_V3_PATH } from '../../src/shared/stedi-api.js';
import { loadMockCatalog } from '../../src/simulator/mock-catalog.js';
import type { Simulator } from '../../src/simulator/server.js';
import { checkRequest } from '../support/fixtures.js';
import { simulatorPerTest } from '../support/simulator-per-test.js';

const start = simulatorPerTest({
  batch: { concurrency: 3, latencyMedianMs: 40, retryMs: 50, submitMs: 0 },
});

async function call(s: Simulator, path: string, init: RequestInit & { key?: string } = {}) {
  const { key = 'dev-key', ...rest } = init;
  const res = await fetch(s.url + path, {
    ...rest,
    headers: { authorization: key, 'content-type': 'application/json', ...rest.headers },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const item = (id: string, request: unknown = checkRequest(id)) => ({
  ...(request as object),
  submitterTransactionIdentifier: id,
});
const submit = (s: Simulator, body: unknown, headers: Record<string, string> = {}, key?: string) =>
  call(s, batchApiPaths.submit, {
    method: 'POST',
    body: JSON.stringify(body),
    headers,
    ...(key ? { key } : {}),
  });

async function completed(s: Simulator, batchId: string) {
  for (;;) {
    const { body } = await call(s, batchApiPaths.status(batchId));
    if (body.status === 'COMPLETED') return body;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('simulated Batch Eligibility API', () => {
  it('answers a batch id, runs items apart from a full real-time allocation, and counts them', async () => {
    const s = await start({ concurrency: 1, latency: { medianMs: 400, sigma: 0, maxMs: 1_000 } });
    // The real-time allocation is full for the whole batch.
    const busy = fetch(s.url + ELIGIBILITY_V3_PATH, {
      method: 'POST',
      headers: { authorization: 'dev-key', 'content-type': 'application/json' },
      body: JSON.stringify(checkRequest('RT')),
    });
    const items = Array.from({ length: 9 }, (_, i) => item(`B${i}`));
    const accepted = await submit(s, { name: 'run-1', maxRetryHours: 12, items });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({
      batchId: expect.any(String),
      submittedAt: expect.any(String),
    });
    const batchId = String(accepted.body.batchId);
    const status = await completed(s, batchId);
    expect(status).toMatchObject({
      batchType: 'ELIGIBILITY',
      totalCount: 9,
      inProgressCount: 0,
    });
    expect(Number(status.successCount) + Number(status.errorCount)).toBe(9);
    expect((await busy).status).toBe(200);
    expect(s.stats()).toMatchObject({ requests: 1, maxInFlight: 1, rejected429: 0 });
    expect(s.batchStats()).toMatchObject({ batchesCreated: 1, itemsFinished: 9, maxInFlight: 3 });
  });

  it('pages completed results (up to 200), tagged with batch and submitter ids', async () => {
    const s = await start();
    const { body } = await submit(s, { items: Array.from({ length: 5 }, (_, i) => item(`P${i}`)) });
    const batchId = String(body.batchId);
    await completed(s, batchId);
    const first = await call(s, `${batchApiPaths.results}?batchId=${batchId}&pageSize=3`);
    const items = first.body.items as { batchId: string; submitterTransactionIdentifier: string }[];
    expect(items).toHaveLength(3);
    expect(items[0]).toMatchObject({
      batchId,
      submitterTransactionIdentifier: expect.stringMatching(/^P/),
    });
    const next = await call(
      s,
      `${batchApiPaths.results}?batchId=${batchId}&pageSize=3&pageToken=${String(first.body.nextPageToken)}`,
    );
    expect(next.body.items).toHaveLength(2);
    expect(next.body.nextPageToken).toBeUndefined();
  });

  it('retries AAA 42 until maxRetryHours (time-scaled), then fails the item; validation fails at once', async () => {
    const s = await start({ timeScale: 0.00001 });
    const aaa42 = loadMockCatalog().find((m) => m.id === 'aaa-42')?.request;
    const { body } = await submit(s, {
      maxRetryHours: 8,
      items: [item('OK'), item('DOWN', aaa42), { ...item('BAD'), provider: { npi: '1' } }],
    });
    const batchId = String(body.batchId);
    expect(await completed(s, batchId)).toMatchObject({ successCount: 1, errorCount: 2 });
    const states = await call(s, `${batchApiPaths.items(batchId)}`);
    expect(
      Object.fromEntries(
        (states.body.items as { submitterTransactionIdentifier: string; state: string }[]).map(
          (i) => [i.submitterTransactionIdentifier, i.state],
        ),
      ),
    ).toEqual({ OK: 'COMPLETED', DOWN: 'FAILED', BAD: 'VALIDATION_FAILED' });
    const failedOnly = await call(s, `${batchApiPaths.items(batchId)}?state=VALIDATION_FAILED`);
    expect(failedOnly.body.items).toHaveLength(1);
  });

  it('returns the same batch for a repeated Idempotency-Key, and refuses bad submissions', async () => {
    const s = await start();
    const body = { items: [item('I1')] };
    const first = await submit(s, body, { 'idempotency-key': 'chunk-1' });
    const again = await submit(s, body, { 'idempotency-key': 'chunk-1' });
    expect(again.body.batchId).toBe(first.body.batchId);
    expect(s.batchStats()).toMatchObject({ batchesCreated: 1, replays: 1, duplicateItems: 0 });
    expect((await submit(s, { items: [] })).status).toBe(400);
    expect((await submit(s, { items: [item('X')], maxRetryHours: 30 })).status).toBe(400);
    expect((await submit(s, body, {}, 'nope')).status).toBe(401);
    expect((await call(s, batchApiPaths.status('no-such-batch'))).status).toBe(404);
  });
});
