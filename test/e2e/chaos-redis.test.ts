/**
 * Chaos: Redis stopped (SIGSTOP) for 15 s and resumed while clients submit checks through the
 * producer and two worker processes call the simulator. Clients retry every 503 (and every POST
 * not answered) with the same Idempotency-Key until accepted. The producer must answer every POST
 * within 2 s and /readyz with 503 within 1 s while Redis is stopped; in the end every key has one
 * check, every check its answer from one Stedi call, and the simulator never saw more than the
 * allocation in flight. Redis is this test's own: stopping the run's shared one would stall every
 * other test file.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { outageFigures } from '../../bench/support/outage-figures.js';
import { pollReadiness, startRetryingClients } from '../../bench/support/retrying-clients.js';
import { checkRequest } from '../support/fixtures.js';
import { freezableRedis, type FreezableRedis } from '../support/freezable-redis.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const L = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let redis: FreezableRedis;
let env: WorkerEnv;
let producer: ProducerEnv;

beforeAll(async () => {
  redis = await freezableRedis();
  env = await workerEnv(
    {
      REDIS_URL: redis.url,
      STEDI_CONCURRENCY: String(L),
      STEDI_REALTIME_RESERVED: '1',
      STEDI_TIMEOUT_MS: '10000',
      // The defaults: a 15 s stall expires every job lock (renewed every 5 s).
      WORKER_LOCK_MS: '10000',
      WORKER_STALLED_INTERVAL_MS: '5000',
    },
    { concurrency: L, latency: { medianMs: 1_500, sigma: 0.5, maxMs: 5_000 }, seed: 9 },
  );
  // A margin under the 2 s the API promises, for a loaded machine.
  producer = await producerEnv({
    ...env.deployment,
    REDIS_URL: redis.url,
    SUBMIT_TIMEOUT_MS: '1000',
  });
  env.spawnWorker();
  env.spawnWorker();
});
afterAll(async () => {
  redis.thaw();
  await producer.close();
  await env.close();
  await redis.close();
});

it('Redis stopped 15 s mid-run: POSTs answered within 2 s, /readyz 503 within 1 s, one check per key, none lost, one call each, never over the allocation', async () => {
  const clients = startRetryingClients({
    url: producer.url,
    apiKey: keys.all,
    clients: 3,
    batchEvery: 4,
    batchSize: 2,
    request: (n) => checkRequest(`RC${n}`),
    answerLimitMs: 5_000,
    pauseMs: 600,
  });
  const readiness = pollReadiness(`${producer.url}/readyz`, 250, 5_000);
  await sleep(3_000);
  const stoppedAt = Date.now();
  redis.freeze();
  await sleep(15_000);
  redis.thaw();
  const resumedAt = Date.now();
  await sleep(3_000);
  await Promise.all([clients.stop(), readiness.stop()]);

  for (const id of [...clients.accepted.values()].flat()) {
    const job = await env.queues.get(id);
    expect(job, id).toBeDefined();
    if (job) await env.waitFor(job, ['completed', 'failed'], 60_000);
  }
  const f = await outageFigures({
    answers: clients.answers,
    readiness: readiness.answers,
    accepted: clients.accepted,
    stoppedAt,
    resumedAt,
    queues: env.queues,
    simulator: env.simulator.stats(),
    allocation: L,
  });
  expect(f.postsDuringOutage).toBeGreaterThan(0);
  expect(f.posts202DuringOutage).toBe(0);
  expect(f.postAnswerMaxMsDuringOutage).toBeLessThan(2_000);
  expect(f.postsNotAnsweredWithin2s).toBe(0);
  expect(f.readyzDuringOutage).toBeGreaterThan(0);
  expect(f.readyzNot503DuringOutage).toBe(0);
  expect(f.readyzMaxMsDuringOutage).toBeLessThan(1_000);
  expect(f.checksAccepted).toBeGreaterThan(15);
  expect(f.checksBeyondOnePerKey).toBe(0);
  expect(f.lostChecks).toBe(0);
  expect(f.failedChecks).toBe(0);
  expect(f.stediCallsBeyondOnePerCheck).toBe(0);
  expect(f.maxInFlight).toBeLessThanOrEqual(L);
  expect(f.rejected429).toBe(0);
}, 150_000);
