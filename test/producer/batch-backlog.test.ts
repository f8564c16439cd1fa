import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BatchBacklog } from '../../src/producer/batch-backlog.js';
import { uniqueName } from '../support/names.js';

let redis: Redis;
let queue: Queue;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  queue = new Queue('eligibility-batch', { connection: redis, prefix: uniqueName('bl') });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
});

const add = (n: number) =>
  queue.addBulk(Array.from({ length: n }, () => ({ name: 'check', data: {} })));

describe('the batch backlog seen by admission', () => {
  it("counts its own adds at once, others' at the next count, and never counts low", async () => {
    await queue.obliterate({ force: true });
    let now = 0;
    const backlog = new BatchBacklog(queue, 250, () => now);
    expect(await backlog.size()).toBe(0);

    // Another producer's adds show once the count is older than 250 ms.
    await add(3);
    expect(await backlog.size()).toBe(0);
    now += 250;
    expect(await backlog.size()).toBe(3);

    // This producer's own adds show at once, and are not counted twice after the next count.
    await add(2);
    backlog.added(2);
    expect(await backlog.size()).toBe(5);
    now += 250;
    expect(await backlog.size()).toBe(5);

    // An add recorded while a count is in flight may be counted twice (high), never missed.
    now += 250;
    await add(4);
    const counting = backlog.size();
    backlog.added(4);
    expect(await counting).toBe(13);
    now += 250;
    expect(await backlog.size()).toBe(9);

    // Checks that leave the backlog show at the next count.
    await queue.drain();
    now += 250;
    expect(await backlog.size()).toBe(0);
  });

  it('counts delayed checks as backlog too', async () => {
    await queue.obliterate({ force: true });
    await queue.add('check', {}, { delay: 60_000 });
    await queue.add('check', {}, { priority: 5 });
    expect(await new BatchBacklog(queue).size()).toBe(2);
  });
});
