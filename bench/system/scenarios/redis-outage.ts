/**
 * `--scenario redis-outage`: L = 10, R = 2, 2 workers, ~800 ms calls, a producer process, all on
 * a Redis of its own; default timeouts and locks. Six clients submit checks (every fifth
 * submission a batch of five), each with its own Idempotency-Key, retrying 503s and POSTs not
 * answered within 5 s until accepted; /readyz is polled every 250 ms. Redis is stopped (SIGSTOP)
 * 5 s in, for 15 s, and resumed; clients go on for 10 s more. Prints how the API answered during
 * the outage, whether each key got one check and each check one Stedi call, and the allocation.
 */
import type { ChildProcess } from 'node:child_process';
import { startLocalRedis } from '../../../src/shared/local/redis-server.js';
import { freePort } from '../../../src/shared/local/free-port.js';
import { waitForHttp } from '../../../src/shared/local/wait-for-http.js';
import type { Config } from '../../../src/shared/config.js';
import { outageFigures } from '../../support/outage-figures.js';
import { spawnBenchChild, stopChild } from '../../support/processes.js';
import { pollReadiness, startRetryingClients } from '../../support/retrying-clients.js';
import { sleep, waitAll, type Figures } from '../checks.js';
import { checkRequest } from '../requests.js';
import { startStack } from '../stack.js';
import type { Infra } from './keyed-stack.js';

const L = 10;
const OUTAGE_MS = 15_000;
const API_KEY = 'bench-outage-key-1';
const producerMain = new URL('../../../src/producer/main.ts', import.meta.url);

/** Runs the outage once and reports its figures. */
export async function redisOutageScenario(infra: Infra): Promise<Record<string, Figures>> {
  // Its own Redis: the one it stops.
  const redis = await startLocalRedis();
  const stack = await startStack(
    {
      allocation: L,
      reserved: 2,
      workers: 2,
      latencyMedianMs: 800,
      latencySigma: 0.5,
      stediTimeoutMs: 90_000,
      name: `redis-outage-${Date.now()}`,
    },
    { redis, dynamo: infra.dynamo },
  );
  let producer: ChildProcess | undefined;
  try {
    const { url, process } = await startProducer(stack.config, redis.url);
    producer = process;
    stack.simulator.resetStats();
    const clients = startRetryingClients({
      url,
      apiKey: API_KEY,
      clients: 6,
      batchEvery: 5,
      batchSize: 5,
      request: (n) => checkRequest(`RO${n}`),
      answerLimitMs: 5_000,
      pauseMs: 500,
    });
    const readiness = pollReadiness(`${url}/readyz`, 250, 5_000);
    await sleep(5_000);
    const stoppedAt = Date.now();
    redis.process.kill('SIGSTOP');
    try {
      await sleep(OUTAGE_MS);
    } finally {
      redis.process.kill('SIGCONT');
    }
    const resumedAt = Date.now();
    await sleep(10_000);
    await Promise.all([clients.stop(), readiness.stop()]);
    const ids = [...clients.accepted.values()].flat();
    const jobs = await Promise.all(ids.map((id) => stack.queues.get(id)));
    await waitAll(
      jobs.filter((j) => j !== undefined),
      120_000,
    );
    const figures = await outageFigures({
      answers: clients.answers,
      readiness: readiness.answers,
      accepted: clients.accepted,
      stoppedAt,
      resumedAt,
      queues: stack.queues,
      simulator: stack.simulator.stats(),
      allocation: L,
    });
    const recovery = (what: string) =>
      stack.sumMetric('eq_redis_stall_recovery_total', `what="${what}"`);
    return {
      'redis-outage': {
        ...figures,
        jobLocksReclaimed: await recovery('lock-reclaimed'),
        jobLocksLost: await recovery('lock-lost'),
        answersKeptForAnotherRun: await recovery('answer-kept'),
      },
    };
  } finally {
    if (producer) await stopChild(producer);
    await stack.stop();
    await redis.stop();
  }
}

/** A producer process serving the stack's queues, with default timeouts. */
async function startProducer(
  config: Config,
  redisUrl: string,
): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawnBenchChild(producerMain, {
    LOG_LEVEL: 'warn',
    PORT: String(port),
    REDIS_URL: redisUrl,
    DYNAMODB_ENDPOINT: config.DYNAMODB_ENDPOINT ?? '',
    QUEUE_PREFIX: config.QUEUE_PREFIX,
    SEMAPHORE_TABLE: config.SEMAPHORE_TABLE,
    SEMAPHORE_NAME: config.SEMAPHORE_NAME,
    DATA_ENCRYPTION_KEYS: config.DATA_ENCRYPTION_KEYS ?? '',
    API_KEYS: `bench:${API_KEY}:submit+read`,
    RATE_LIMIT_PER_SECOND: '10000',
    RATE_LIMIT_BURST: '10000',
  }).process;
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, {
    what: 'the producer',
    timeoutMs: 20_000,
    gaveUp: () => (child.exitCode !== null ? `exited with ${child.exitCode}` : undefined),
  });
  return { url, process: child };
}
