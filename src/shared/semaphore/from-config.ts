/** Builds the semaphore (and its store and hints) a process uses, from the configuration. */
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { countDynamoRequests, createDynamoClient } from '../clients/dynamodb.js';
import { DynamoSemaphoreStore } from './dynamo-store.js';
import type { InspectParams } from './inspect.js';
import { RedisHintChannel } from './redis-hint-channel.js';
import { defaultStoreTimeoutMs, Semaphore } from './semaphore.js';
import { ensureSemaphoreTable } from './table.js';

/** How to read the configured semaphore's holders (`npm run semaphore -- status`, /v1/concurrency). */
export function inspectParamsFromConfig(config: Config): InspectParams {
  return {
    name: config.SEMAPHORE_NAME,
    capacity: config.STEDI_CONCURRENCY,
    realtimeReserved: config.STEDI_REALTIME_RESERVED,
    realtimeFloor: config.STEDI_REALTIME_FLOOR,
    stediTimeoutMs: config.STEDI_TIMEOUT_MS,
    skewMarginMs: config.SEMAPHORE_SKEW_MARGIN_MS,
  };
}

/** A semaphore with the clients it owns; `close()` releases slots and closes them. */
export interface ConfiguredSemaphore {
  readonly semaphore: Semaphore;
  readonly store: DynamoSemaphoreStore;
  readonly dynamoRequests: () => number;
  close(): Promise<void>;
}

/** Creates the table if configured to, then the semaphore with Redis release hints. */
export async function semaphoreFromConfig(
  config: Config,
  redis: { publisher: Redis; subscriber: Redis },
): Promise<ConfiguredSemaphore> {
  const client = createDynamoClient({
    endpoint: config.DYNAMODB_ENDPOINT,
    region: config.AWS_REGION,
  });
  const counter = countDynamoRequests(client);
  if (config.SEMAPHORE_CREATE_TABLE) await ensureSemaphoreTable(client, config.SEMAPHORE_TABLE);
  const storeTimeoutMs =
    config.SEMAPHORE_STORE_TIMEOUT_MS ?? defaultStoreTimeoutMs(config.SEMAPHORE_LEASE_MS);
  const store = new DynamoSemaphoreStore(client, config.SEMAPHORE_TABLE, {
    requestTimeoutMs: storeTimeoutMs,
  });
  const semaphore = new Semaphore({
    store,
    hints: new RedisHintChannel(redis.publisher, redis.subscriber),
    name: config.SEMAPHORE_NAME,
    capacity: config.STEDI_CONCURRENCY,
    // The floor is the hard partition; the rest of the reserve is lent (worker headroom policy).
    realtimeReserved: config.STEDI_REALTIME_FLOOR,
    leaseMs: config.SEMAPHORE_LEASE_MS,
    stediTimeoutMs: config.STEDI_TIMEOUT_MS,
    skewMarginMs: config.SEMAPHORE_SKEW_MARGIN_MS,
    fallbackCheckMs: config.SEMAPHORE_FALLBACK_CHECK_MS,
    storeTimeoutMs,
  });
  return {
    semaphore,
    store,
    dynamoRequests: counter.count,
    close: async () => {
      try {
        await semaphore.close();
      } finally {
        client.destroy();
      }
    },
  };
}
