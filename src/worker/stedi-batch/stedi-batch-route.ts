/**
 * The batch route in a worker process: one BullMQ Worker for chunks (submit and poll) and one for
 * routed checks (finish them). Neither touches the semaphore: Stedi's batch pipeline does not
 * count toward the real-time allocation. Both are idempotent step by step, so a chunk or check
 * orphaned by dying workers is simply run again, however often that happens.
 */
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/config.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import { stediBatchQueueNames } from '../../shared/stedi-batch/routed-jobs.js';
import { RoutedQueues } from '../../shared/stedi-batch/routed-queues.js';
import { HttpBatchApiClient, type BatchApiClient } from './batch-api-client.js';
import { chunkProcessor } from './chunk-processor.js';
import { routedCheckProcessor } from './routed-check-processor.js';
import type { StediBatchMetrics } from './stedi-batch-metrics.js';

/** A running batch route. */
export interface StediBatchRoute {
  /** Takes no new chunk or check; lets running steps finish. */
  close(): Promise<void>;
}

/** Starts the batch route's workers. */
export function startStediBatchRoute(
  config: Config,
  deps: {
    readonly connection: Redis;
    readonly cipher: ValueCipher;
    readonly logger: Logger;
    readonly metrics: StediBatchMetrics;
    readonly api?: BatchApiClient;
  },
): StediBatchRoute {
  const { connection, cipher, logger } = deps;
  const queues = new RoutedQueues(connection, config.QUEUE_PREFIX, cipher);
  const { metrics } = deps;
  const api =
    deps.api ??
    new HttpBatchApiClient({
      baseUrl: config.STEDI_BATCH_BASE_URL,
      apiKey: config.STEDI_API_KEY ?? '',
      authScheme: config.STEDI_AUTH_SCHEME,
    });
  const now = () => Date.now();
  const options = {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_ROUTED_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
    // Every step can run again safely: restarts must never fail a chunk or a check.
    maxStalledCount: 1_000,
  };
  const chunks = new Worker(
    stediBatchQueueNames.chunks,
    chunkProcessor({
      api,
      checks: queues.checks,
      cipher,
      pollMs: config.STEDI_BATCH_POLL_MS,
      pollMaxMs: config.STEDI_BATCH_POLL_MAX_MS,
      metrics,
      logger: logger.child({ route: 'stedi-batch' }),
      now,
    }),
    options,
  );
  const checks = new Worker(
    stediBatchQueueNames.checks,
    routedCheckProcessor({
      chunks: queues.chunks,
      cipher,
      metrics,
      recheckMs: config.STEDI_BATCH_POLL_MAX_MS,
      now,
    }),
    options,
  );
  for (const [name, worker] of [
    ['chunks', chunks],
    ['checks', checks],
  ] as const) {
    worker.on('error', (err) =>
      logger.error({ err: err.message, queue: name }, 'batch route error'),
    );
    worker.on('failed', (job, err) =>
      logger.warn({ jobId: job?.id, queue: name, reason: err.message }, 'batch route job failed'),
    );
  }
  return {
    close: async () => {
      await Promise.allSettled([chunks.close(), checks.close()]);
      await queues.close();
    },
  };
}
