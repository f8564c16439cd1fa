/**
 * One benchmark process: LANES loops, each taking a backlog token from Redis, acquiring a slot
 * from the variant under test, holding it for a lognormal time, and releasing. Prints its holds
 * and DynamoDB request count as one JSON line when the backlog is gone.
 */
import { Redis } from 'ioredis';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, countDynamoRequests } from '../../src/shared/clients/dynamodb.js';
import {
  DynamoSemaphoreStore,
  RedisHintChannel,
  Semaphore,
} from '../../src/shared/semaphore/index.js';
import { lognormal, seededRandom } from '../../src/shared/random.js';
import type { Hold } from '../support/holds.js';
import { withLatency, type StoreCounts } from '../support/latency-store.js';
import { SocketSemaphoreStore } from '../support/store-server.js';
import { PollingSemaphore } from './polling-semaphore.js';
import { IdealSemaphore } from './ideal-semaphore.js';

const e = process.env;
const str = (k: string): string => e[k] ?? '';
const n = (k: string): number => Number(e[k]);
const variant = str('VARIANT');
const capacity = n('L');
const now = () => performance.timeOrigin + performance.now();

const redis = new Redis(str('REDIS_URL'));
const client = createDynamoClient({ endpoint: str('DYNAMO_ENDPOINT'), region: 'us-east-1' });
const requests = countDynamoRequests(client);

interface Slots {
  /** One store request before the start signal, as a long-running worker's client is warm. */
  warm(): Promise<void>;
  acquire(): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

let storeCounts: StoreCounts = { reads: 0, writes: 0 };
let storeErrors = 0;

function slotsOf(): Slots {
  if (variant === 'lease') {
    const pub = new Redis(str('REDIS_URL'));
    const sub = new Redis(str('REDIS_URL'));
    const remote = e.STORE_URL ? new SocketSemaphoreStore(str('STORE_URL')) : undefined;
    const latent = withLatency(
      remote ?? new DynamoSemaphoreStore(client, str('TABLE')),
      Number(e.STORE_LATENCY_MS ?? 0),
    );
    storeCounts = latent.counts;
    const sem = new Semaphore({
      store: latent.store,
      hints: new RedisHintChannel(pub, sub),
      name: str('NAME'),
      capacity,
      handOver: str('HANDOVER') !== 'false',
    });
    sem.on('error', (err) => console.error(err.message));
    return {
      warm: async () => {
        await Promise.all([sem.start(), latent.store.listSlots(str('NAME'))]);
        // And one acquisition on a semaphore of its own: the claim and release paths (the SDK's
        // write commands, the grant loop) run the first time in the interpreter, which cost every
        // process its first claims' worth of CPU at once, on two cores shared by all of them.
        const warmup = new Semaphore({
          store: latent.store,
          name: `${str('NAME')}-warm-${str('SEED')}`,
          capacity: 1,
        });
        warmup.on('error', (err) => console.error(err.message));
        await warmup.start();
        const lease = await warmup.acquire({ pool: 'batch', markCallStart: true });
        await lease.release();
        await warmup.close();
      },
      acquire: async () => {
        // As a worker does: the call starts as soon as the slot is granted, and a store error
        // delays the check (here: 100-200 ms) rather than failing it.
        for (;;) {
          try {
            const lease = await sem.acquire({ pool: 'batch', markCallStart: true });
            await lease.markCallStart(); // covered by the claim's write: no request
            return () => lease.release();
          } catch (err) {
            storeErrors++;
            if (storeErrors <= 3) console.error((err as Error).message);
            await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
          }
        }
      },
      close: async () => {
        await sem.close();
        remote?.close();
        pub.disconnect();
        sub.disconnect();
      },
    };
  }
  if (variant === 'ideal') {
    const sem = new IdealSemaphore(capacity);
    return {
      warm: async () => undefined,
      acquire: async () => sem.acquire(),
      close: async () => undefined,
    };
  }
  const poll = new PollingSemaphore(client, str('TABLE'), str('NAME'), capacity, {
    baseMs: n('BASE_MS'),
    maxMs: n('MAX_MS'),
  });
  return {
    warm: async () => {
      await client.send(new DescribeTableCommand({ TableName: str('TABLE') }));
    },
    acquire: async () => {
      const id = await poll.acquire();
      return () => poll.release(id);
    },
    close: async () => undefined,
  };
}

const slots = slotsOf();
const sample = lognormal(seededRandom(n('SEED')), n('MEDIAN_MS'), n('SIGMA'));
const holds: Hold[] = [];

// Warm up connections (and hint subscription) before the start signal. The store too: a cold
// AWS SDK client spends its first request loading and initializing modules (100-400 ms here with
// three processes starting at once), which the fill figure measured instead of the protocol.
await redis.ping();
await slots.warm();
process.stdout.write('ready\n');
while ((await redis.get(str('GO_KEY'))) === null) await new Promise((r) => setTimeout(r, 2));

async function lane(): Promise<void> {
  while ((await redis.decr(str('TOKENS_KEY'))) >= 0) {
    const holdMs = sample();
    const release = await slots.acquire();
    const grantedAt = now();
    await new Promise((r) => setTimeout(r, holdMs));
    const releasedAt = now();
    await release();
    holds.push({ grantedAt, releasedAt });
  }
}

const requestsBefore = requests.count();
const countsBefore = { ...storeCounts };
await Promise.all(Array.from({ length: n('LANES') }, () => lane()));
const dynamoRequests = requests.count() - requestsBefore;
const writes = storeCounts.writes - countsBefore.writes;
const reads = storeCounts.reads - countsBefore.reads;
await slots.close();
process.stdout.write(JSON.stringify({ holds, dynamoRequests, writes, reads }) + '\n');
redis.disconnect();
client.destroy();
