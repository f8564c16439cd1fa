import { inject, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { exited, spawnTs } from '../../support/children.js';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';
import { uniqueName } from '../../support/names.js';

let env: SemaphoreEnv;
let redis: Redis;
beforeEach(async () => {
  env = await semaphoreEnv();
  redis = new Redis(inject('redisUrl'));
});
afterEach(async () => {
  redis.disconnect();
  await env.close();
});

describe('Semaphore across processes', () => {
  it('never grants more than L, nor batch more than L - R, under heavy contention from 3 processes', async () => {
    const L = 4;
    const R = 1;
    const prefix = uniqueName('counter');
    const children = Array.from({ length: 3 }, () =>
      spawnTs(new URL('../../support/contender.ts', import.meta.url), [], {
        DYNAMO_ENDPOINT: inject('dynamoEndpoint'),
        REDIS_URL: inject('redisUrl'),
        TABLE: env.table,
        NAME: env.name,
        L: String(L),
        R: String(R),
        LANES: '4',
        ITERATIONS: '12',
        HOLD_MS: '40',
        COUNTER_PREFIX: prefix,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      }),
    );
    const stderr: string[] = [];
    for (const c of children) c.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
    const codes = await Promise.all(children.map(exited));
    expect(codes, stderr.join('')).toEqual([0, 0, 0]);
    expect(Number(await redis.get(`${prefix}:grants`))).toBe(3 * 4 * 12);
    const maxAll = Number(await redis.get(`${prefix}:all:max`));
    const maxBatch = Number(await redis.get(`${prefix}:batch:max`));
    expect(maxAll).toBeLessThanOrEqual(L);
    expect(maxBatch).toBeLessThanOrEqual(L - R);
    // The contention was real: the allocation was full at some point.
    expect(maxAll).toBe(L);
    const records = await env.store.listSlots(env.name);
    expect(records.filter((r) => r.owner !== undefined)).toEqual([]);
  });
});
