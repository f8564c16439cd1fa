/** A producer on a free port with its own queue prefix and semaphore table, against the run's Redis and dynalite. */
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/shared/config.js';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';
import type { ValueCipher } from '../../src/shared/crypto/data-cipher.js';
import { ensureSemaphoreTable } from '../../src/shared/semaphore/index.js';
import { startProducer, type ProducerServer } from '../../src/producer/producer-server.js';
import type { Tracing } from '../../src/shared/tracing/tracing.js';
import { uniqueName } from './names.js';

export const keys = {
  all: 'local-dev-key',
  submit: 'submit-only-key-123',
  read: 'read-only-key-1234',
};

/** A running producer and direct access to its queues. */
export interface ProducerEnv {
  readonly url: string;
  readonly config: Config;
  readonly queues: CheckQueues;
  readonly redis: Redis;
  call(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

/** Starts a producer with test keys and any extra settings. */
export async function producerEnv(
  extra: Record<string, string> = {},
  overrides: {
    logger?: Logger;
    cipher?: ValueCipher;
    redactBoard?: boolean;
    tracing?: Tracing;
  } = {},
): Promise<ProducerEnv> {
  const env = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    REDIS_URL: inject('redisUrl'),
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    QUEUE_PREFIX: uniqueName('q'),
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    // Tests send bursts; the rate limit has its own test.
    RATE_LIMIT_PER_SECOND: '100000',
    RATE_LIMIT_BURST: '100000',
    SEMAPHORE_TABLE: uniqueName('sem'),
    API_KEYS: `local:${keys.all}:submit+read+admin,clinic:${keys.submit}:submit,viewer:${keys.read}:read`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
  const config = loadConfig(env);
  const dynamo = createDynamoClient({ endpoint: config.DYNAMODB_ENDPOINT, region: 'us-east-1' });
  await ensureSemaphoreTable(dynamo, config.SEMAPHORE_TABLE);
  dynamo.destroy();
  const server: ProducerServer = await startProducer(
    config,
    overrides.logger ?? createLogger({ level: 'silent' }),
    {
      ...(overrides.cipher ? { cipher: overrides.cipher } : {}),
      ...(overrides.redactBoard === false ? { redactBoard: false } : {}),
      ...(overrides.tracing ? { tracing: overrides.tracing } : {}),
    },
  );
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  const queues = CheckQueues.fromConfig(redis, config, overrides.cipher);
  return {
    url: server.url,
    config,
    queues,
    redis,
    call: (path, init = {}) => {
      const { key = keys.all, headers, ...rest } = init;
      return fetch(server.url + path, {
        ...rest,
        headers: {
          ...(rest.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(headers as Record<string, string> | undefined),
        },
      });
    },
    close: async () => {
      await queues.close();
      redis.disconnect();
      await server.close();
    },
  };
}

/** Total checks in both queues, in any state. */
export async function enqueuedCount(queues: CheckQueues): Promise<number> {
  let total = 0;
  for (const q of Object.values(queues.queues)) {
    const c = await q.getJobCounts(
      'waiting',
      'prioritized',
      'active',
      'delayed',
      'completed',
      'failed',
    );
    total += Object.values(c).reduce((a, b) => a + b, 0);
  }
  return total;
}
