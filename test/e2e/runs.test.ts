/**
 * Runs through the whole path (REST → queue → worker processes → simulator → run views and the
 * results export): a run of 500 checks whose worker is killed with SIGKILL mid-run keeps exact
 * counts at every read and exports every result once, paged while it progresses; cancelling a run
 * stops its waiting checks; runs are visible only to the key that created them. Driven through
 * the typed client generated from the OpenAPI document, which also checks every answer against it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { exited } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';
import { apiClient } from '../support/api-client.js';
import type { components } from '../support/api-types.js';

type RunView = components['schemas']['Run'];
type Row = components['schemas']['RunResultRow'];
type Items = components['schemas']['SubmitBatch']['items'];

let w: WorkerEnv | undefined;
let p: ProducerEnv | undefined;
afterEach(async () => {
  await p?.close();
  await w?.close();
  p = w = undefined;
});

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not reached: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const api = (env: ProducerEnv, key = keys.all) => apiClient(env.url, key);

async function submitRun(env: ProducerEnv, items: unknown[], idempotencyKey?: string) {
  const { data, response } = await api(env).POST('/v1/eligibility/batch', {
    body: { items: items as Items },
    params: { header: idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {} },
  });
  expect(response.status).toBe(202);
  if (!data) throw new Error('no body');
  return data;
}

async function getRun(env: ProducerEnv, id: string): Promise<RunView> {
  const { data } = await api(env).GET('/v1/runs/{id}', { params: { path: { id } } });
  if (!data) throw new Error(`GET run ${id} failed`);
  return data;
}

const sum = (counts: RunView['counts']) => Object.values(counts).reduce((a, b) => a + b, 0);

/** Reads the results after `cursor` until a short page; returns the rows and the new cursor. */
async function drain(env: ProducerEnv, id: string, cursor: number) {
  const rows: Row[] = [];
  for (;;) {
    const { data, response } = await api(env).GET('/v1/runs/{id}/results', {
      params: { path: { id }, query: { cursor, limit: 100 } },
      parseAs: 'text',
    });
    expect(response.status).toBe(200);
    const page = (data ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row);
    rows.push(...page);
    cursor = Number(response.headers.get('next-cursor'));
    if (page.length < 100)
      return { rows, cursor, complete: response.headers.get('results-complete') === 'true' };
  }
}

describe('runs', () => {
  it('a run of 500 checks with a worker killed mid-run: exact counts, every result exported once', async () => {
    w = await workerEnv(
      { STEDI_CONCURRENCY: '8', STEDI_REALTIME_RESERVED: '0', STEDI_TIMEOUT_MS: '2000' },
      { concurrency: 8, latency: { medianMs: 40, sigma: 0.3, maxMs: 1_000 } },
    );
    p = await producerEnv({ ...w.deployment, STEDI_TIMEOUT_MS: '2000' });
    // Every tenth check names a payer Stedi does not know: it fails (400) without retries.
    const items = Array.from({ length: 500 }, (_, i) =>
      checkRequest(`SIM${String(i).padStart(7, '0')}`, i % 10 === 9 ? 'NOSUCHPAYER' : '87726'),
    );
    const run = await submitRun(p, items);
    expect(run.count).toBe(500);
    expect(run.checks[0]?.id).toBe(`${run.runId}-0`);

    const first = w.spawnWorker();
    let cursor = 0;
    const rows: Row[] = [];
    // Page while the run progresses; kill the worker once it has finished some with calls in flight.
    const killAt = await until(
      async () => {
        const page = await drain(p!, run.runId, cursor);
        rows.push(...page.rows);
        cursor = page.cursor;
        return { done: rows.length, inFlight: w!.simulator.stats().inFlight };
      },
      (v) => v.done >= 100 && v.inFlight > 0,
      30_000,
    );
    first.kill('SIGKILL');
    await exited(first);
    expect(killAt.done).toBeLessThan(450);
    await w.startWorker();

    const seen: RunView[] = [];
    const final = await until(
      async () => {
        const v = await getRun(p!, run.runId);
        seen.push(v);
        const page = await drain(p!, run.runId, cursor);
        rows.push(...page.rows);
        cursor = page.cursor;
        return { v, complete: page.complete };
      },
      ({ v, complete }) => v.status === 'completed' && complete,
    );
    // Every read accounts for each check exactly once, whatever the crash and recovery did.
    for (const v of seen) {
      expect(v.total).toBe(500);
      expect(sum(v.counts)).toBe(500);
    }
    expect(
      seen.some((v) => v.status === 'running' && v.estimatedSecondsRemaining !== undefined),
    ).toBe(true);
    const counts = final.v.counts;
    expect(counts).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
      completed: 450,
      failed: 50,
      cancelled: 0,
      expired: 0,
    });
    expect(final.v.progress).toBe(1);

    // Every check once, in a stable, increasing order; rows hold the summary and reasons.
    expect(rows).toHaveLength(500);
    expect(new Set(rows.map((r) => r.checkId)).size).toBe(500);
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => a - b));
    for (const r of rows) {
      expect(r.checkId).toBe(`${run.runId}-${r.index}`);
      if (r.index % 10 === 9) {
        expect(r.status).toBe('failed');
        expect(r.failureReason).toMatch(/400/);
      } else {
        expect(r.status).toBe('completed');
        expect(['active', 'inactive', 'unknown']).toContain(r.summary?.coverage);
      }
    }
    // The crash really re-ran checks: the killed worker's calls in flight were made again.
    expect(w.simulator.stats().requests).toBeGreaterThan(500);

    // A fresh export from the start gives the same rows, as CSV too.
    const again = await drain(p, run.runId, 0);
    expect(again.rows.map((r) => r.checkId)).toEqual(rows.map((r) => r.checkId));
    const csv = await api(p).GET('/v1/runs/{id}/results', {
      params: { path: { id: run.runId }, query: { format: 'csv', limit: 1000 } },
      parseAs: 'text',
    });
    expect(csv.response.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (csv.data ?? '').trim().split('\r\n');
    expect(lines[0]).toBe(
      'seq,checkId,index,status,attempts,finishedAt,coverage,planName,aaaCodes,failureReason,summary',
    );
    expect(lines).toHaveLength(501);
  }, 120_000);

  it('cancelling a run stops its waiting checks; running ones finish; a retry does not revive it', async () => {
    w = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '0' },
      { concurrency: 2, latency: { medianMs: 600, sigma: 0, maxMs: 2_000 } },
    );
    p = await producerEnv(w.deployment);
    const items = Array.from({ length: 40 }, (_, i) => checkRequest(`SIM${1000 + i}`));
    const run = await submitRun(p, items, 'cancel-me');
    await w.startWorker();
    await until(
      async () => w!.simulator.stats().inFlight,
      (n) => n > 0,
    );
    const { data: cancelled } = await api(p).DELETE('/v1/runs/{id}', {
      params: { path: { id: run.runId } },
    });
    if (!cancelled) throw new Error('DELETE failed');
    expect(cancelled.cancelledNow).toBeGreaterThan(30);
    expect(cancelled.counts.waiting + cancelled.counts.delayed).toBe(0);

    const final = await until(
      () => getRun(p!, run.runId),
      (v) => v.status === 'cancelled',
    );
    const c = final.counts;
    expect(c.cancelled).toBe(cancelled.cancelledNow);
    expect(c.completed + c.failed + c.cancelled).toBe(40);
    // The simulator answered only the checks that had started.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(w.simulator.stats().requests).toBe(c.completed + c.failed);

    // The same POST again (a client's retry) answers the same run and enqueues nothing.
    const retry = await submitRun(p, items, 'cancel-me');
    expect(retry.runId).toBe(run.runId);
    expect((await getRun(p, run.runId)).counts).toEqual(c);
    const { rows } = await drain(p, run.runId, 0);
    expect(rows).toHaveLength(40);
    expect(rows.filter((r) => r.status === 'cancelled')).toHaveLength(c.cancelled);
  }, 60_000);

  it('a run is visible only to the key that created it', async () => {
    p = await producerEnv();
    const run = await submitRun(p, [checkRequest()]);
    const path = { id: run.runId };
    const viewer = api(p, keys.read);
    const other = await viewer.GET('/v1/runs/{id}', { params: { path } });
    expect(other.response.status).toBe(404);
    expect(JSON.stringify(other.error)).not.toContain('SIM');
    const otherResults = await viewer.GET('/v1/runs/{id}/results', { params: { path } });
    expect(otherResults.response.status).toBe(404);
    const anonymous = await apiClient(p.url).GET('/v1/runs/{id}', { params: { path } });
    expect(anonymous.response.status).toBe(401);
    const readOnly = await viewer.DELETE('/v1/runs/{id}', { params: { path } });
    expect(readOnly.response.status).toBe(403);
    const unknown = await api(p).GET('/v1/runs/{id}', { params: { path: { id: 'bt_nope' } } });
    expect(unknown.response.status).toBe(404);
    // Values the document forbids, sent past the typed client to reach the route's own check.
    const bad = await p.call(`/v1/runs/${run.runId}/results?cursor=-1&format=xml`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/cursor.*format|format.*cursor/);
    const view = await getRun(p, run.runId);
    expect(view).toMatchObject({ status: 'running', total: 1, counts: { waiting: 1 } });
  });
});
