/**
 * Key rotation through the whole path: a check enqueued under the old key is run by a worker that
 * already has the new key first, and its result (sealed under the new key) is read by a producer
 * holding both. Then the old key alone can no longer read the new result.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const oldKey = generateDataKeySpec('old');
const newKey = generateDataKeySpec('new');
let w: WorkerEnv | undefined;
const producers: ProducerEnv[] = [];
afterEach(async () => {
  for (const p of producers.splice(0)) await p.close();
  await w?.close();
  w = undefined;
});

describe('data key rotation', () => {
  it('reads records written under the old key after rotation', async () => {
    w = await workerEnv(
      {
        STEDI_CONCURRENCY: '2',
        STEDI_REALTIME_RESERVED: '1',
        DATA_ENCRYPTION_KEYS: `${newKey},${oldKey}`,
      },
      {
        concurrency: 2,
        latency: { medianMs: 20, sigma: 0, maxMs: 1_000 },
      },
    );
    const shared = {
      QUEUE_PREFIX: w.config.QUEUE_PREFIX,
      SEMAPHORE_TABLE: w.config.SEMAPHORE_TABLE,
      SEMAPHORE_NAME: w.config.SEMAPHORE_NAME,
    };
    const before = await producerEnv({ ...shared, DATA_ENCRYPTION_KEYS: oldKey });
    producers.push(before);
    const res = await before.call('/v1/eligibility', {
      method: 'POST',
      body: JSON.stringify({ request: checkRequest('ROT1') }),
    });
    const { id } = (await res.json()) as { id: string };
    const job = await before.queues.get(id);
    expect(job?.data.request.k).toBe('old');

    await w.startWorker();
    if (job) expect(await w.waitFor(job)).toBe('completed');
    const done = await before.queues.get(id);
    expect(done?.returnvalue.response.k).toBe('new');

    const after = await producerEnv({ ...shared, DATA_ENCRYPTION_KEYS: `${newKey},${oldKey}` });
    producers.push(after);
    const read = (await (await after.call(`/v1/eligibility/${id}`)).json()) as {
      status: string;
      result: { subscriber: { memberId: string } };
    };
    expect(read.status).toBe('completed');
    expect(read.result.subscriber.memberId).toBe('ROT1');
  });
});
