/** The pipeline under benchmark: Redis, dynalite, the simulator and N worker processes. */
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import { DynamoSemaphoreStore } from '../../src/shared/semaphore/index.js';
import { startChildDynalite, type LocalDynamo } from '../../src/shared/local/dynalite-server.js';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { startLocalRedis, type LocalRedis } from '../../src/shared/local/redis-server.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import type { SimulatorOptions } from '../../src/simulator/options.js';
import { spawnBenchChild, stopChild } from '../support/processes.js';

/** Settings of one benchmark stack. */
export interface StackOptions {
  readonly allocation: number;
  readonly reserved: number;
  readonly workers: number;
  readonly latencyMedianMs: number;
  readonly latencySigma: number;
  readonly stediTimeoutMs: number;
  readonly name: string;
  /** Per-payer latency and outages at the simulator. */
  readonly payers?: SimulatorOptions['payers'];
  /** Further settings for every worker (and the stack's config). */
  readonly env?: Readonly<Record<string, string>>;
  /** The simulated Batch Eligibility API's pipeline. */
  readonly batchApi?: SimulatorOptions['batch'];
}

/** A running stack. */
export interface Stack {
  /** The settings every worker of the stack runs with. */
  readonly env: Readonly<Record<string, string>>;
  readonly config: Config;
  readonly simulator: Simulator;
  readonly queues: CheckQueues;
  readonly workers: { process: ChildProcess; metricsPort: number }[];
  spawnWorker(): Promise<{ process: ChildProcess; metricsPort: number }>;
  /** Slots held now, by worker pid (read from the lease owners in DynamoDB). */
  slotsByPid(): Promise<Map<number, number>>;
  /** The name a worker's BullMQ workers record on the jobs they process (processedBy). */
  workerName(worker: { process: ChildProcess }): Promise<string>;
  /** Sum of eq_dynamodb_requests over the live workers (scraped from /metrics). */
  dynamoRequests(): Promise<number>;
  /** Sum over the live workers of every sample of metric `name` whose labels contain `labels`. */
  sumMetric(name: string, labels?: string): Promise<number>;
  stop(): Promise<void>;
}

async function slotsByPid(dynamo: LocalDynamo, config: Config): Promise<Map<number, number>> {
  const client = createDynamoClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
  const records = await new DynamoSemaphoreStore(client, config.SEMAPHORE_TABLE).listSlots(
    config.SEMAPHORE_NAME,
  );
  client.destroy();
  const byPid = new Map<number, number>();
  for (const r of records) {
    // Owner tokens read host:pid:instance:n.
    const pid = Number(r.owner?.split(':')[1]);
    if (Number.isInteger(pid)) byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
  }
  return byPid;
}

const workerMain = new URL('../../src/worker/main.ts', import.meta.url);

/** Starts every component and waits until the workers serve /metrics. */
export async function startStack(
  o: StackOptions,
  shared?: { redis: LocalRedis; dynamo: LocalDynamo },
): Promise<Stack> {
  const redisServer = shared?.redis ?? (await startLocalRedis());
  const dynamo = shared?.dynamo ?? (await startChildDynalite());
  const simulator = await startSimulator({
    concurrency: o.allocation,
    latency: { medianMs: o.latencyMedianMs, sigma: o.latencySigma, maxMs: o.stediTimeoutMs },
    seed: 7,
    ...(o.payers ? { payers: o.payers } : {}),
    ...(o.batchApi ? { batch: o.batchApi } : {}),
  });
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    REDIS_URL: redisServer.url,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    QUEUE_PREFIX: `bench-${o.name}`,
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    SEMAPHORE_TABLE: `bench-${o.name}`,
    SEMAPHORE_NAME: `bench-${o.name}`,
    STEDI_BASE_URL: simulator.url,
    STEDI_BATCH_BASE_URL: simulator.url,
    STEDI_API_KEY: 'dev-key',
    STEDI_CONCURRENCY: String(o.allocation),
    STEDI_REALTIME_RESERVED: String(o.reserved),
    STEDI_TIMEOUT_MS: String(o.stediTimeoutMs),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...o.env,
  };
  const config = loadConfig(env);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const queues = CheckQueues.fromConfig(redis, config);
  const workers: Stack['workers'] = [];
  const spawnWorker = async () => {
    const metricsPort = await freePort();
    const child = spawnBenchChild(workerMain, {
      ...env,
      WORKER_METRICS_PORT: String(metricsPort),
    }).process;
    const w = { process: child, metricsPort };
    workers.push(w);
    await waitForHttp(`http://127.0.0.1:${metricsPort}/metrics`, {
      what: 'a worker',
      timeoutMs: 20_000,
      gaveUp: () => (child.exitCode !== null ? `exited with ${child.exitCode}` : undefined),
    });
    return w;
  };
  for (let i = 0; i < o.workers; i++) await spawnWorker();
  const sumMetric = async (name: string, labels = ''): Promise<number> => {
    let sum = 0;
    for (const w of workers) {
      if (w.process.exitCode !== null || w.process.signalCode !== null) continue;
      const text = await (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text();
      for (const line of text.split('\n')) {
        if (!line.startsWith(name) || !line.includes(labels)) continue;
        const rest = line.slice(name.length);
        if (rest[0] !== ' ' && rest[0] !== '{') continue;
        sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
    }
    return sum;
  };
  return {
    env,
    config,
    simulator,
    queues,
    workers,
    spawnWorker,
    slotsByPid: () => slotsByPid(dynamo, config),
    workerName: async (worker) => {
      // BullMQ names each worker's blocking connection <prefix>:<queue>:w:<name>; names start
      // host:pid (src/worker/worker-app.ts).
      for (const client of await queues.queues.realtime.getWorkers()) {
        const name = String(client.rawname ?? '').split(':w:')[1];
        if (name?.split(':')[1] === String(worker.process.pid)) return name;
      }
      throw new Error(`no BullMQ worker of pid ${worker.process.pid}`);
    },
    dynamoRequests: () => sumMetric('eq_dynamodb_requests'),
    sumMetric,
    stop: async () => {
      await Promise.all(workers.map((w) => stopChild(w.process)));
      await queues.close();
      redis.disconnect();
      await simulator.close();
      if (!shared) await Promise.allSettled([redisServer.stop(), dynamo.stop()]);
    },
  };
}
