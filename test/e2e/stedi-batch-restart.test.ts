/**
 * Restarting every process (producer and workers, kill -9) in the middle of a run routed to
 * Stedi's Batch Eligibility API, three times: no check is lost, every chunk becomes exactly one
 * batch at Stedi, and no check is sent to Stedi twice. The simulator, standing for Stedi, runs on.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { exited, spawnTs } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { keys } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const CHECKS = 240;
const CHUNK = 20;
let env: WorkerEnv;
let api: string;
let producerEnv: Record<string, string>;
const processes: ChildProcess[] = [];

beforeAll(async () => {
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: '2',
      STEDI_REALTIME_RESERVED: '1',
      STEDI_BATCH_CHUNK_SIZE: String(CHUNK),
      STEDI_BATCH_POLL_MS: '150',
      STEDI_BATCH_POLL_MAX_MS: '600',
      WORKER_ROUTED_CONCURRENCY: '2',
    },
    {
      concurrency: 2,
      latency: { medianMs: 50, sigma: 0, maxMs: 1_000 },
      // A submission's answer comes a second after its batch exists: killed in that second, a
      // worker has had its chunk accepted without learning the batch id.
      batch: { concurrency: 8, latencyMedianMs: 120, retryMs: 1_000, submitMs: 1_000 },
    },
  );
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  producerEnv = {
    ...env.env,
    PORT: String(port),
    API_KEYS: `local:${keys.all}:submit+read+admin`,
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
  };
});

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(processes.map(exited));
  await env.close();
});

async function startAll(): Promise<void> {
  const producer = spawnTs(new URL('../../src/producer/main.ts', import.meta.url), [], producerEnv);
  processes.push(producer, env.spawnWorker(), env.spawnWorker());
  await waitForHttp(`${api}/healthz`, {
    what: 'the producer',
    timeoutMs: 30_000,
    gaveUp: () => (producer.exitCode !== null ? 'the producer exited' : undefined),
  });
}

async function killAll(): Promise<void> {
  const live = processes.filter((p) => p.exitCode === null && p.signalCode === null);
  for (const p of live) p.kill('SIGKILL');
  await Promise.all(live.map(exited));
}

const headers = { authorization: `Bearer ${keys.all}`, 'content-type': 'application/json' };

describe('batch route: every process restarted mid-run', () => {
  it('loses no check and never sends a chunk to Stedi twice', async () => {
    await startAll();
    const items = Array.from({ length: CHECKS }, (_, i) => checkRequest(`RESTART${i}`));
    const ids: string[] = [];
    // Two submissions of 120, as clients send them.
    for (const part of [items.slice(0, CHECKS / 2), items.slice(CHECKS / 2)]) {
      const res = await fetch(`${api}/v1/eligibility/batch`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ items: part, route: 'stedi-batch' }),
      });
      expect(res.status).toBe(202);
      ids.push(...((await res.json()) as { checks: { id: string }[] }).checks.map((c) => c.id));
    }
    // Kill everything: while chunks are being submitted (one accepted, its answer on the way),
    // then twice while they are polled.
    const stats = () => env.simulator.batchStats();
    const moments: [string, () => boolean][] = [
      ['submitting', () => stats().batchesCreated >= 2],
      ['polling', () => stats().itemsFinished >= 60],
      ['polling late', () => stats().itemsFinished >= 180],
    ];
    for (const [, reached] of moments) {
      while (!reached()) await new Promise((r) => setTimeout(r, 10));
      await killAll();
      await startAll();
    }
    const deadline = Date.now() + 90_000;
    const statuses = new Map<string, string>();
    for (const id of ids) {
      for (;;) {
        const view = (await (await fetch(`${api}/v1/eligibility/${id}`, { headers })).json()) as {
          status: string;
          stediBatchId?: string;
        };
        if (view.status === 'completed' || view.status === 'failed') {
          statuses.set(id, view.status);
          break;
        }
        if (Date.now() > deadline) throw new Error(`check ${id} still ${view.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect([...statuses.values()].filter((s) => s !== 'completed')).toEqual([]);
    const batch = env.simulator.batchStats();
    expect(batch.batchesCreated).toBe(CHECKS / CHUNK);
    expect(batch.itemsReceived).toBe(CHECKS);
    expect(batch.duplicateItems).toBe(0);
    // The first kill caught an accepted chunk before its worker learned the batch id: it was
    // submitted again, and Stedi answered with the batch it had.
    expect(batch.replays).toBeGreaterThanOrEqual(1);
    expect(env.simulator.stats().requests).toBe(0);
  }, 150_000);
});
