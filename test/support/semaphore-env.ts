/** Builds a semaphore against the run's real dynalite (and Redis hints), with its own table. */
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, countDynamoRequests } from '../../src/shared/clients/dynamodb.js';
import {
  DynamoSemaphoreStore,
  RedisHintChannel,
  Semaphore,
  ensureSemaphoreTable,
  type SemaphoreOptions,
} from '../../src/shared/semaphore/index.js';
import { uniqueName } from './names.js';

/** Everything one test needs to run semaphores in this process. */
export interface SemaphoreEnv {
  readonly table: string;
  readonly name: string;
  readonly client: DynamoDBClient;
  readonly store: DynamoSemaphoreStore;
  readonly requests: () => number;
  /** A new semaphore instance (as another worker would have); closed by `close()`. */
  make(
    options: Omit<Partial<SemaphoreOptions>, 'hints'> & { capacity: number; hints?: boolean },
  ): Semaphore;
  close(): Promise<void>;
}

/** Creates a fresh table and a factory of semaphores on it. */
export async function semaphoreEnv(): Promise<SemaphoreEnv> {
  const table = uniqueName('sem');
  const name = uniqueName('acct');
  const client = createDynamoClient({
    endpoint: inject('dynamoEndpoint'),
    region: 'us-east-1',
    maxAttempts: 1,
  });
  const counter = countDynamoRequests(client);
  await ensureSemaphoreTable(client, table);
  const store = new DynamoSemaphoreStore(client, table);
  const made: Semaphore[] = [];
  const redisClients: Redis[] = [];
  return {
    table,
    name,
    client,
    store,
    requests: counter.count,
    make: ({ hints = true, ...options }) => {
      let channel: RedisHintChannel | undefined;
      if (hints) {
        const pub = new Redis(inject('redisUrl'));
        const sub = new Redis(inject('redisUrl'));
        redisClients.push(pub, sub);
        channel = new RedisHintChannel(pub, sub);
      }
      const sem = new Semaphore({ store, name, hints: channel, ...options });
      sem.on('error', () => undefined);
      made.push(sem);
      return sem;
    },
    close: async () => {
      await Promise.allSettled(made.map((s) => s.close()));
      for (const r of redisClients) r.disconnect();
      client.destroy();
    },
  };
}
