/**
 * The local stack as a user starts it (`npm start`'s script), in its own data folder and ports:
 * checks posted over REST complete with the simulator's answer, Stedi's mock requests give their
 * documented outcomes through the whole path, and Ctrl-C stops everything.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/local/free-port.js';
import { loadMockCatalog, outcomeOf } from '../../src/simulator/mock-catalog.js';
import { exited, spawnTs } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import type { ChildProcess } from 'node:child_process';

let stack: ChildProcess;
let api: string;
let output = '';
const headers = { authorization: 'Bearer local-dev-key', 'content-type': 'application/json' };

beforeAll(async () => {
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  stack = spawnTs(new URL('../../scripts/start-local.ts', import.meta.url), [], {
    PORT: String(port),
    SIMULATOR_PORT: String(await freePort()),
    LOCAL_REDIS_PORT: String(await freePort()),
    LOCAL_DATA_DIR: mkdtempSync(join(tmpdir(), 'eq-stack-')),
    WORKER_METRICS_PORT: '0',
    WORKERS: '2',
    STEDI_CONCURRENCY: '5',
    SIMULATOR_LATENCY_MEDIAN_MS: '40',
    SIMULATOR_LATENCY_SIGMA: '0.5',
    SIMULATOR_LATENCY_MAX_MS: '1000',
    REALTIME_ATTEMPTS: '2',
    REALTIME_BACKOFF_MS: '50',
    LOG_LEVEL: 'warn',
    REDIS_URL: '',
    DYNAMODB_ENDPOINT: '',
    STEDI_BASE_URL: '',
    STEDI_BATCH_BASE_URL: '',
    STEDI_API_KEY: '',
    STEDI_BATCH_POLL_MS: '200',
    STEDI_BATCH_POLL_MAX_MS: '400',
    SIMULATOR_BATCH_LATENCY_MEDIAN_MS: '40',
    DATA_ENCRYPTION_KEYS: '',
  });
  stack.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  stack.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('eligibility-queue is running')) {
    if (Date.now() > deadline || stack.exitCode !== null)
      throw new Error(`stack did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  if (stack.exitCode === null) stack.kill('SIGKILL');
  await exited(stack);
});

interface View {
  id: string;
  status: string;
  result?: {
    planStatus?: { statusCode: string }[];
    errors?: { code: string }[];
    meta?: { traceId: string };
  };
  failureReason?: string;
}

describe('local stack end to end', () => {
  it('prints where to look: API, Bull Board with credentials, a curl example', () => {
    expect(output).toContain(`API         ${api}`);
    expect(output).toContain('/admin/queues   (user admin, password admin-dev)');
    expect(output).toContain('curl -s -X POST');
  });

  it('answers a realtime check with wait, with the simulator answer', async () => {
    const res = await fetch(`${api}/v1/eligibility?wait=20`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ request: checkRequest('E2E1') }),
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as View;
    expect(view.status).toBe('completed');
    expect(view.result?.meta?.traceId).toEqual(expect.any(String));
  });

  it('completes every check of a batch of 300', async () => {
    const items = Array.from({ length: 300 }, (_, i) => checkRequest(`E2EB${i}`));
    const res = await fetch(`${api}/v1/eligibility/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ items }),
    });
    expect(res.status).toBe(202);
    const { checks } = (await res.json()) as { checks: { id: string }[] };
    expect(checks).toHaveLength(300);
    const deadline = Date.now() + 60_000;
    for (const c of checks) {
      for (;;) {
        const view = (await (
          await fetch(`${api}/v1/eligibility/${c.id}`, { headers })
        ).json()) as View;
        if (view.status === 'completed') break;
        expect(view.status).not.toBe('failed');
        if (Date.now() > deadline) throw new Error(`check ${c.id} still ${view.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }, 90_000);

  it("runs a run routed to Stedi's Batch Eligibility API on the simulator", async () => {
    const items = Array.from({ length: 3 }, (_, i) => checkRequest(`E2ER${i}`));
    const res = await fetch(`${api}/v1/eligibility/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ items, route: 'stedi-batch' }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const run = (await (await fetch(`${api}/v1/runs/${runId}`, { headers })).json()) as {
        status: string;
        counts: { completed: number };
      };
      if (run.status === 'completed') {
        expect(run.counts.completed).toBe(3);
        break;
      }
      // Before, the stack sent routed chunks to Stedi's own host: ENOTFOUND, resubmitted forever.
      if (Date.now() > deadline) throw new Error(`routed run still ${run.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 45_000);

  it("gives each of Stedi's mock requests its documented outcome through the whole path", async () => {
    const mocks = loadMockCatalog();
    const views = await Promise.all(
      mocks.map(async (m) => {
        const res = await fetch(`${api}/v1/eligibility?wait=30`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ request: m.request }),
        });
        return { mock: m, status: res.status, view: (await res.json()) as View };
      }),
    );
    for (const { mock, status, view } of views) {
      const expected = outcomeOf(mock);
      expect(status, mock.id).toBe(200);
      if (expected.kind === 'aaa' && expected.code === '42') {
        expect(view.status, mock.id).toBe('failed');
        expect(view.failureReason, mock.id).toContain('AAA 42');
      } else if (expected.kind === 'aaa') {
        expect(view.status, mock.id).toBe('completed');
        expect(view.result?.errors?.[0]?.code, mock.id).toBe(expected.code);
      } else {
        expect(view.status, mock.id).toBe('completed');
        expect(view.result?.planStatus?.[0]?.statusCode, mock.id).toBe(
          expected.kind === 'active' ? '1' : '6',
        );
      }
    }
  }, 90_000);

  it('stops everything cleanly on Ctrl-C', async () => {
    stack.kill('SIGINT');
    expect(await exited(stack)).toBe(0);
    await expect(fetch(`${api}/healthz`)).rejects.toThrow();
  });
});
