/**
 * A worker test environment: its own queue prefix, semaphore table and simulator, workers in this
 * process or as child processes (`npm run worker`'s entry), and queues to enqueue into.
 */
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import type { ChildProcess } from 'node:child_process';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { CheckQueues, type CheckJob } from '../../src/shared/check-queues.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import type { ValueCipher } from '../../src/shared/crypto/data-cipher.js';
import {
  startSimulator,
  type Simulator,
  type StartSimulatorOptions,
} from '../../src/simulator/server.js';
import { startWorkerApp, type WorkerApp } from '../../src/worker/worker-app.js';
import type { BatchApiClient } from '../../src/worker/stedi-batch/batch-api-client.js';
import { exited, spawnTs } from './children.js';
import type { Tracing } from '../../src/shared/tracing/tracing.js';
import { uniqueName } from './names.js';

/** Everything a worker test uses; `close()` stops all of it. */
export interface WorkerEnv {
  readonly env: Record<string, string>;
  /** The settings a producer needs to serve this deployment (queues, semaphore, data key). */
  readonly deployment: Record<string, string>;
  readonly config: Config;
  readonly simulator: Simulator;
  readonly queues: CheckQueues;
  readonly redis: Redis;
  startWorker(
    extra?: Record<string, string>,
    overrides?: {
      logger?: Logger;
      cipher?: ValueCipher;
      tracing?: Tracing;
      stediBatchApi?: BatchApiClient;
    },
  ): Promise<WorkerApp>;
  spawnWorker(extra?: Record<string, string>): ChildProcess;
  waitFor(job: CheckJob, states?: string[], timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** Builds a worker environment around a fresh simulator. */
export async function workerEnv(
  settings: Record<string, string>,
  simulatorOptions: StartSimulatorOptions,
): Promise<WorkerEnv> {
  const simulator = await startSimulator(simulatorOptions);
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    REDIS_URL: inject('redisUrl'),
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    QUEUE_PREFIX: uniqueName('q'),
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    SEMAPHORE_TABLE: uniqueName('sem'),
    SEMAPHORE_NAME: uniqueName('acct'),
    STEDI_BASE_URL: simulator.url,
    STEDI_BATCH_BASE_URL: simulator.url,
    STEDI_API_KEY: 'dev-key',
    WORKER_METRICS_PORT: '-1',
    WORKER_LOCK_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    SEMAPHORE_LEASE_MS: '1500',
    SEMAPHORE_FALLBACK_CHECK_MS: '300',
    REALTIME_BACKOFF_MS: '100',
    BATCH_BACKOFF_MS: '100',
    THROTTLE_RETRY_MS: '100',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...settings,
  };
  const config = loadConfig(env);
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const queues = CheckQueues.fromConfig(redis, config);
  const apps: WorkerApp[] = [];
  const children: ChildProcess[] = [];
  return {
    env,
    deployment: {
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      SEMAPHORE_TABLE: config.SEMAPHORE_TABLE,
      SEMAPHORE_NAME: config.SEMAPHORE_NAME,
      DATA_ENCRYPTION_KEYS: config.DATA_ENCRYPTION_KEYS ?? '',
    },
    config,
    simulator,
    queues,
    redis,
    startWorker: async (extra = {}, overrides = {}) => {
      const app = await startWorkerApp(
        loadConfig({ ...env, ...extra }),
        overrides.logger ?? createLogger({ level: 'silent' }),
        {
          ...(overrides.cipher ? { cipher: overrides.cipher } : {}),
          ...(overrides.tracing ? { tracing: overrides.tracing } : {}),
          ...(overrides.stediBatchApi ? { stediBatchApi: overrides.stediBatchApi } : {}),
        },
      );
      apps.push(app);
      return app;
    },
    spawnWorker: (extra = {}) => {
      const child = spawnTs(new URL('../../src/worker/main.ts', import.meta.url), [], {
        ...env,
        ...extra,
      });
      children.push(child);
      return child;
    },
    waitFor: async (job, states = ['completed', 'failed'], timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await job.getState();
        if (states.includes(state)) return state;
        if (Date.now() > deadline)
          throw new Error(`job ${job.id} still ${state} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(children.map(exited));
      await Promise.allSettled(apps.map((a) => a.stop()));
      await queues.close();
      redis.disconnect();
      await simulator.close();
    },
  };
}
