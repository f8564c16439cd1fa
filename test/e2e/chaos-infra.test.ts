/**
 * Chaos beyond kill -9, as a user would run the system (real worker processes, real Redis,
 * dynalite, the simulator): DynamoDB paused for 20 s, a rollout whose grace period is shorter than
 * the calls, and workers whose event loop stalls for 3 s. Each ends with 0 over-allocation at the
 * simulator (no 429, never more than L in flight) and every check completed.
 */
import { afterEach, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import type { CheckJob } from '../../src/shared/check-queues.js';
import { startChildDynalite, type LocalDynamo } from '../../src/shared/local/dynalite-server.js';
import { exited } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
let dynamo: LocalDynamo | undefined;
afterEach(async () => {
  await env?.close();
  await dynamo?.stop();
  env = dynamo = undefined;
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for every check to complete, stops `workers`, and expects the simulator never to have
 * seen more than `L` calls in flight or answered a 429.
 */
async function completeWithinAllocation(
  e: WorkerEnv,
  jobs: CheckJob[],
  workers: ChildProcess[],
  L: number,
): Promise<void> {
  const states = await Promise.all(jobs.map((j) => e.waitFor(j, ['completed', 'failed'], 120_000)));
  expect(states.filter((s) => s !== 'completed')).toEqual([]);
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map(exited));
  const stats = e.simulator.stats();
  expect(stats.rejected429).toBe(0);
  expect(stats.maxInFlight).toBeLessThanOrEqual(L);
}

it('DynamoDB paused for 20 s: no over-allocation, checks delayed without attempts, full speed within 5 s of its return', async () => {
  dynamo = await startChildDynalite();
  const L = 4;
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: String(L),
      STEDI_REALTIME_RESERVED: '0',
      STEDI_TIMEOUT_MS: '2000',
      DYNAMODB_ENDPOINT: dynamo.endpoint,
    },
    { concurrency: L, latency: { medianMs: 150, sigma: 0, maxMs: 1_000 } },
  );
  const workers = [env.spawnWorker(), env.spawnWorker()];
  const jobs = await env.queues.addBulk(
    'batch',
    Array.from({ length: 400 }, (_, i) => checkRequest(`DYN${i}`)),
  );
  while (env.simulator.stats().requests < 20) await sleep(50);
  process.kill(dynamo.pid ?? -1, 'SIGSTOP');
  const pausedAt = env.simulator.stats().requests;
  await sleep(20_000);
  const startedWhilePaused = env.simulator.stats().requests - pausedAt;
  process.kill(dynamo.pid ?? -1, 'SIGCONT');
  const back = Date.now();
  let fullAfterMs: number | undefined;
  while (Date.now() - back < 10_000 && fullAfterMs === undefined) {
    if (env.simulator.stats().inFlight === L) fullAfterMs = Date.now() - back;
    await sleep(20);
  }
  await completeWithinAllocation(env, jobs, workers, L);

  // Calls that had a cover before the pause may still start; no new slot can be taken.
  expect(startedWhilePaused).toBeLessThan(4 * L);
  expect(fullAfterMs).toBeDefined();
  expect(fullAfterMs).toBeLessThan(5_000);
  // No attempt spent on our own outage: every check completed on its first attempt.
  const attempts = await Promise.all(
    jobs.map(async (j) => (await env?.queues.get(j.id ?? ''))?.attemptsMade),
  );
  expect(attempts.filter((a) => a !== 1)).toEqual([]);
}, 180_000);

it('rollout with a 1 s grace period during long calls: the next call waits for the bound, no 429', async () => {
  const L = 2;
  env = await workerEnv(
    {
      STEDI_CONCURRENCY: String(L),
      STEDI_REALTIME_RESERVED: '0',
      STEDI_TIMEOUT_MS: '4000',
      WORKER_SHUTDOWN_TIMEOUT_MS: '1000',
    },
    { concurrency: L, latency: { medianMs: 3_000, sigma: 0, maxMs: 4_000 } },
  );
  const old: ChildProcess[] = [env.spawnWorker(), env.spawnWorker()];
  const jobs = await env.queues.addBulk(
    'batch',
    Array.from({ length: 8 }, (_, i) => checkRequest(`ROLL${i}`)),
  );
  while (env.simulator.stats().inFlight < L) await sleep(20);
  await sleep(300);
  // The rollout: each old worker gets SIGTERM and 1 s, then a new one starts in its place.
  const fresh: ChildProcess[] = [];
  for (const w of old) {
    w.kill('SIGTERM');
    await exited(w);
    fresh.push(env.spawnWorker());
  }
  await completeWithinAllocation(env, jobs, fresh, L);
}, 180_000);

it('workers whose event loop stalls for 3 s: no over-allocation, every check completed', async () => {
  const L = 3;
  env = await workerEnv(
    { STEDI_CONCURRENCY: String(L), STEDI_REALTIME_RESERVED: '1', STEDI_TIMEOUT_MS: '1500' },
    { concurrency: L, latency: { medianMs: 300, sigma: 0.5, maxMs: 1_500 } },
  );
  const workers = [env.spawnWorker(), env.spawnWorker(), env.spawnWorker()];
  const jobs: CheckJob[] = await env.queues.addBulk(
    'batch',
    Array.from({ length: 90 }, (_, i) => checkRequest(`STALL${i}`)),
  );
  while (env.simulator.stats().requests < 5) await sleep(50);
  for (const w of workers) {
    // A pause of the whole process is an event-loop stall seen from outside: no timer, no I/O.
    w.kill('SIGSTOP');
    jobs.push(await env.queues.add('realtime', checkRequest(`STALLRT${w.pid}`)));
    await sleep(3_000);
    w.kill('SIGCONT');
    await sleep(1_000);
  }
  await completeWithinAllocation(env, jobs, workers, L);
}, 180_000);
