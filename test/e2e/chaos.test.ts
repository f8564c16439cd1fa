/**
 * Chaos: while checks flow, worker processes are killed with SIGKILL again and again and new ones
 * started. At the end every accepted check is completed or failed with a reason, none is lost, and
 * the simulator never saw a 429 nor more than the allocation in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { seededRandom } from '../../src/shared/random.js';
import type { CheckJob } from '../../src/shared/check-queues.js';
import { exited } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const L = 4;
let env: WorkerEnv;
beforeAll(async () => {
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: String(L),
      STEDI_REALTIME_RESERVED: '1',
      STEDI_TIMEOUT_MS: '1000',
      WORKER_MAX_STALLED_COUNT: '10',
    },
    { concurrency: L, latency: { medianMs: 150, sigma: 0.6, maxMs: 1_000 }, seed: 3 },
  );
});
afterAll(async () => {
  await env.close();
});

describe('chaos: kill -9 workers while checks flow', () => {
  it('loses no check and never exceeds the allocation', async () => {
    const random = seededRandom(99);
    const workers: ChildProcess[] = [env.spawnWorker(), env.spawnWorker(), env.spawnWorker()];
    const jobs: CheckJob[] = [
      ...(await env.queues.addBulk(
        'batch',
        Array.from({ length: 120 }, (_, i) => checkRequest(`CB${i}`)),
      )),
    ];
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      await new Promise((r) => setTimeout(r, 700 + random() * 800));
      for (let i = 0; i < 3; i++)
        jobs.push(await env.queues.add('realtime', checkRequest(`CR${round}-${i}`)));
      const live = workers.filter((w) => w.exitCode === null && w.signalCode === null);
      const victim = live[Math.floor(random() * live.length)];
      if (victim) {
        victim.kill('SIGKILL');
        await exited(victim);
        kills++;
      }
      workers.push(env.spawnWorker());
    }
    expect(kills).toBe(6);
    const states = await Promise.all(
      jobs.map((j) => env.waitFor(j, ['completed', 'failed'], 120_000)),
    );
    const failed = jobs.filter((_, i) => states[i] === 'failed');
    for (const job of failed) {
      const fresh = await env.queues.get(job.id ?? '');
      expect(fresh?.failedReason, job.id).toBeTruthy();
    }
    expect(states.filter((s) => s === 'completed').length).toBeGreaterThan(jobs.length * 0.9);
    const stats = env.simulator.stats();
    expect(stats.rejected429).toBe(0);
    expect(stats.maxInFlight).toBeLessThanOrEqual(L);
  }, 180_000);
});
