/**
 * A child process that contends for the semaphore like a worker would: LANES concurrent loops,
 * each acquiring ITERATIONS times and holding for a random time. An atomic Redis counter, bumped
 * after each grant and dropped before each release, records the most holders ever seen at once.
 */
import { Redis } from 'ioredis';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import {
  DynamoSemaphoreStore,
  RedisHintChannel,
  Semaphore,
  type Pool,
} from '../../src/shared/semaphore/index.js';
import { SemaphoreStoreError } from '../../src/shared/errors/semaphore-store-error.js';

const env = process.env;
const need = (k: string) => {
  const v = env[k];
  if (v === undefined) throw new Error(`missing ${k}`);
  return v;
};
const [L, R, lanes, iterations, holdMs] = ['L', 'R', 'LANES', 'ITERATIONS', 'HOLD_MS'].map((k) =>
  Number(need(k)),
);
const keyPrefix = need('COUNTER_PREFIX');

const incrMax = `local v = redis.call('INCR', KEYS[1]); local m = tonumber(redis.call('GET', KEYS[2]) or '0');
if v > m then redis.call('SET', KEYS[2], v) end; return v`;

const redis = new Redis(need('REDIS_URL'));
const pub = new Redis(need('REDIS_URL'));
const sub = new Redis(need('REDIS_URL'));
const client = createDynamoClient({ endpoint: need('DYNAMO_ENDPOINT'), region: 'us-east-1' });
const sem = new Semaphore({
  store: new DynamoSemaphoreStore(client, need('TABLE')),
  hints: new RedisHintChannel(pub, sub),
  name: need('NAME'),
  capacity: L!,
  realtimeReserved: R!,
  leaseMs: 2_000,
  fallbackCheckMs: 200,
});
sem.on('error', (err) => console.error('semaphore error', err.message));

async function lane(id: number): Promise<void> {
  for (let i = 0; i < iterations!; i++) {
    const pool: Pool = (id + i) % 3 === 0 ? 'realtime' : 'batch';
    let lease;
    for (;;) {
      try {
        lease = await sem.acquire({ pool, markCallStart: true });
        break;
      } catch (err) {
        // As a worker does: a store error (dynalite slow on a loaded machine) delays, never fails.
        if (!(err instanceof SemaphoreStoreError)) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await lease.markCallStart();
    await redis.eval(incrMax, 2, `${keyPrefix}:all`, `${keyPrefix}:all:max`);
    if (pool === 'batch')
      await redis.eval(incrMax, 2, `${keyPrefix}:batch`, `${keyPrefix}:batch:max`);
    await new Promise((r) => setTimeout(r, Math.random() * holdMs!));
    if (pool === 'batch') await redis.decr(`${keyPrefix}:batch`);
    await redis.decr(`${keyPrefix}:all`);
    await redis.incr(`${keyPrefix}:grants`);
    await lease.release();
  }
}

await Promise.all(Array.from({ length: lanes! }, (_, i) => lane(i)));
await sem.close();
for (const r of [redis, pub, sub]) r.disconnect();
client.destroy();
