/** A worker process's webhook side: the event relay and the delivery worker, started and closed together. */
import type { Redis } from 'ioredis';
import type { Config } from '../../shared/config.js';
import { CheckQueues } from '../../shared/check-queues.js';
import { createRedis } from '../../shared/clients/redis.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import { RunStore } from '../../shared/runs/run-store.js';
import { WebhookDeliveries } from '../../shared/webhooks/deliveries.js';
import { WebhookEndpointStore } from '../../shared/webhooks/endpoint-store.js';
import { deliverySettings, webhookUrlPolicy } from '../../shared/webhooks/from-config.js';
import { startDeliveryWorker } from './delivery-worker.js';
import { EventRelay } from './event-relay.js';

/** Running webhook components. */
export interface Webhooks {
  close(): Promise<void>;
}

/** Starts the relay and the delivery worker on `connection` (plus one blocking connection). */
export async function startWebhooks(
  config: Config,
  connection: Redis,
  cipher: ValueCipher,
  logger: Logger,
): Promise<Webhooks> {
  const queues = CheckQueues.fromConfig(connection, config, cipher);
  const endpoints = new WebhookEndpointStore(connection, config.QUEUE_PREFIX, cipher);
  const deliveries = new WebhookDeliveries(
    connection,
    config.QUEUE_PREFIX,
    deliverySettings(config),
  );
  const runs = new RunStore(connection, config.QUEUE_PREFIX, queues.runQueues(), 0);
  const relay = new EventRelay({
    blocking: createRedis(config.REDIS_URL, { name: 'eq-webhook-relay' }),
    queues: [queues.queues.realtime, queues.queues.batch, queues.stediBatch.checks],
    runs,
    endpoints,
    deliveries,
    cipher,
    logger,
  });
  await relay.start();
  const worker = startDeliveryWorker({
    connection,
    prefix: config.QUEUE_PREFIX,
    endpoints,
    deliveries,
    cipher,
    policy: webhookUrlPolicy(config),
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    concurrency: 10,
    logger,
  });
  return {
    close: async () => {
      await Promise.allSettled([relay.close(), worker.close()]);
      await Promise.allSettled([deliveries.close(), queues.close()]);
    },
  };
}
