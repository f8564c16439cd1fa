/**
 * The producer while its Redis is frozen (SIGSTOP), as a hung Redis behaves: the connection stays
 * open and nothing answers. Submissions and readiness must still answer promptly, nothing
 * submitted once the outage is known may land later, and a client retrying with the same
 * Idempotency-Key gets the same check, never a second one, even when its first try timed out
 * after the enqueue had been sent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { DataCipher, parseDataKeys } from '../../src/shared/crypto/data-cipher.js';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { createRequestRedis, readyWithin } from '../../src/shared/clients/redis.js';
import { prioritySettings, loadConfig } from '../../src/shared/config.js';
import type { Redis } from 'ioredis';
import { parseApiKeys } from '../../src/producer/auth/api-keys.js';
import { RunStore } from '../../src/shared/runs/run-store.js';
import { CheckSubmitter } from '../../src/producer/check-submitter.js';
import { IdempotencyStore, type Reservation } from '../../src/producer/idempotency.js';
import { ModeStore } from '../../src/producer/operating-mode.js';
import { RedisHealth } from '../../src/producer/redis-health.js';
import { routeSettings } from '../../src/producer/routed-submission.js';
import { checkRequest } from '../support/fixtures.js';
import { freezableRedis, type FreezableRedis } from '../support/freezable-redis.js';
import { uniqueName } from '../support/names.js';
import { enqueuedCount, producerEnv, type ProducerEnv } from '../support/producer-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Status, Retry-After and how long the answer took; 'no answer' if none within `limitMs`. */
async function timed(
  send: (signal: AbortSignal) => Promise<Response>,
  limitMs = 6_000,
): Promise<{ status: number | 'no answer'; retryAfter: string | null; ms: number; body: unknown }> {
  const t0 = performance.now();
  try {
    const res = await send(AbortSignal.timeout(limitMs));
    const body: unknown = await res.json().catch(() => undefined);
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      ms: performance.now() - t0,
      body,
    };
  } catch {
    return { status: 'no answer', retryAfter: null, ms: performance.now() - t0, body: undefined };
  }
}

describe('producer with its Redis frozen', () => {
  let redis: FreezableRedis;
  let p: ProducerEnv;
  beforeAll(async () => {
    redis = await freezableRedis();
    p = await producerEnv({
      REDIS_URL: redis.url,
      SUBMIT_TIMEOUT_MS: '800',
      READY_TIMEOUT_MS: '300',
    });
  });
  afterEach(() => redis.thaw());
  afterAll(async () => {
    redis.thaw();
    await p.close();
    await redis.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    timed((signal) =>
      p.call(path, { method: 'POST', body: JSON.stringify(body), headers, signal }),
    );
  const get = (path: string) => timed((signal) => p.call(path, { key: null, signal }));
  /** Waits until a POST is accepted again (the producer probes Redis while it is down). */
  async function acceptedAgain(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if ((await post('/v1/eligibility', { request: checkRequest('AGAIN') })).status === 202)
        return;
      await sleep(100);
    }
    throw new Error('the producer did not accept checks again after Redis came back');
  }

  it('answers POSTs with 503 and Retry-After within 2 s, /readyz with 503 within 1 s; /healthz stays 200', async () => {
    redis.freeze();
    const one = await post('/v1/eligibility', { request: checkRequest('ONE') });
    expect(one.status).toBe(503);
    expect(Number(one.retryAfter)).toBeGreaterThan(0);
    expect(one.ms).toBeLessThan(2_000);
    expect(JSON.stringify(one.body)).toContain('Idempotency-Key');
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(1_000);
    expect(ready.body).toMatchObject({ redis: 'unreachable', dynamodb: 'ok' });
    expect((await get('/healthz')).status).toBe(200);
    redis.thaw();
    await acceptedAgain();
    expect((await get('/readyz')).status).toBe(200);
  });

  it('bounds the Express routes too: a batch and a POST the fast lane leaves to Express', async () => {
    redis.freeze();
    // A fresh outage: nothing is known yet, so each waits for its own deadline.
    const batch = await post('/v1/eligibility/batch', { items: [checkRequest('B1')] });
    expect(batch.status).toBe(503);
    expect(batch.ms).toBeLessThan(2_000);
    const viaExpress = await post('/v1/eligibility/', { request: checkRequest('E1') });
    expect(viaExpress.status).toBe(503);
    expect(viaExpress.ms).toBeLessThan(2_000);
    redis.thaw();
    await acceptedAgain();
  });

  it('once Redis is known not to answer, refuses at once and sends nothing that could land later', async () => {
    const before = await enqueuedCount(p.queues);
    redis.freeze();
    const first = await post('/v1/eligibility', { request: checkRequest('FIRST') });
    expect(first.status).toBe(503);
    const later = [];
    for (let i = 0; i < 5; i++) {
      later.push(await post('/v1/eligibility', { request: checkRequest(`LATER${i}`) }));
      later.push(await post('/v1/eligibility/batch', { items: [checkRequest(`LATERB${i}`)] }));
    }
    for (const answer of later) {
      expect(answer.status).toBe(503);
      expect(answer.ms).toBeLessThan(500);
    }
    // Long enough that anything sent during the outage had landed by the time we count.
    await sleep(1_000);
    redis.thaw();
    await sleep(1_000);
    // Only the first POST's work was sent before the outage was known; it may have landed.
    expect((await enqueuedCount(p.queues)) - before).toBeLessThanOrEqual(1);
    await acceptedAgain();
  });
});

describe('Idempotency-Key across an enqueue that timed out', () => {
  const SUBMIT_TIMEOUT_MS = 400;
  const COMMAND_TIMEOUT_MS = 700;
  let redis: FreezableRedis;
  let connection: Redis;
  let queues: CheckQueues;
  let health: RedisHealth;
  let submitter: CheckSubmitter;
  /** When set, Redis is frozen right after a reservation is answered, before the enqueue. */
  let freezeAfterReserve = false;
  const [key] = parseApiKeys('clinic:clinic-secret-123:submit');
  if (!key) throw new Error('no key');

  class FreezingIdempotencyStore extends IdempotencyStore {
    override async reserve(
      keyName: string,
      idemKey: string,
      body: unknown,
      id: string,
    ): Promise<Reservation> {
      const r = await super.reserve(keyName, idemKey, body, id);
      if (freezeAfterReserve) redis.freeze();
      freezeAfterReserve = false;
      return r;
    }
  }

  beforeAll(async () => {
    redis = await freezableRedis();
    const config = loadConfig({
      REDIS_URL: redis.url,
      QUEUE_PREFIX: uniqueName('idem'),
      DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    });
    const cipher = new DataCipher(parseDataKeys(config.DATA_ENCRYPTION_KEYS ?? ''));
    // As the producer connects: commands time out (after the submission's own deadline).
    connection = createRequestRedis(redis.url, { commandTimeoutMs: COMMAND_TIMEOUT_MS });
    await readyWithin(connection, 5_000);
    queues = new CheckQueues(connection, config.QUEUE_PREFIX, prioritySettings(config), cipher);
    health = new RedisHealth(connection, { pingTimeoutMs: 300, probeIntervalMs: 50 });
    submitter = new CheckSubmitter({
      queues,
      events: {
        get: () => {
          throw new Error('no ?wait in these tests');
        },
      },
      idempotency: new FreezingIdempotencyStore(connection, config.QUEUE_PREFIX, 3600, cipher),
      runs: new RunStore(connection, config.QUEUE_PREFIX, queues.runQueues(), 3_600_000),
      mode: new ModeStore(connection, `${config.QUEUE_PREFIX}:mode`, queues),
      health,
      submitTimeoutMs: SUBMIT_TIMEOUT_MS,
      batchBacklogLimit: 1_000,
      batchMaxItems: 10,
      maxWaitSeconds: 0,
      endpoint: config.STEDI_ELIGIBILITY_ENDPOINT,
      stediBatch: routeSettings(config),
    });
    // BullMQ connects its queues on first use: not inside a test's deadline.
    await queues.queues.realtime.getJobCounts();
    await queues.queues.batch.getJobCounts();
  });
  afterEach(() => redis.thaw());
  afterAll(async () => {
    redis.thaw();
    await health.close();
    await queues.close();
    connection.disconnect();
    await redis.close();
  });

  /** Thaws Redis after the first try's commands have timed out, and waits until it answers. */
  async function outageEnds(): Promise<void> {
    await sleep(COMMAND_TIMEOUT_MS + 500);
    redis.thaw();
    for (let i = 0; i < 100 && !health.up; i++) await sleep(20);
    expect(health.up).toBe(true);
  }

  async function allJobIds(): Promise<string[]> {
    const ids: string[] = [];
    for (const q of Object.values(queues.queues))
      for (const job of await q.getJobs(['waiting', 'prioritized', 'delayed', 'active']))
        ids.push(job.id ?? '');
    return ids.sort();
  }

  it('a check whose enqueue timed out lands once, and the retry gets that same check', async () => {
    const submit = () =>
      submitter.submitOne({
        key,
        body: { priority: 'realtime', request: checkRequest('IDEM1') },
        wait: undefined,
        idempotencyKey: 'visit-1',
      });
    freezeAfterReserve = true;
    const first = await submit();
    expect(first.status).toBe(503);
    await outageEnds();
    const retry = await submit();
    expect(retry.status).toBe(202);
    const id = (retry.body as { id: string }).id;
    expect(await allJobIds()).toEqual([id]);
    const again = await submit();
    expect((again.body as { id: string }).id).toBe(id);
    expect(await allJobIds()).toEqual([id]);
  });

  it('a batch with an Idempotency-Key is the same batch on every retry, timed out or not', async () => {
    const items = [checkRequest('BAT1'), checkRequest('BAT2'), checkRequest('BAT3')];
    const submit = (body: unknown = { items }) =>
      submitter.submitBatch({ key, body, idempotencyKey: 'run-7' });
    const before = await allJobIds();
    freezeAfterReserve = true;
    expect((await submit()).status).toBe(503);
    await outageEnds();
    const retry = await submit();
    expect(retry.status).toBe(202);
    const ids = (retry.body as { checks: { id: string }[] }).checks.map((c) => c.id);
    expect(ids).toHaveLength(3);
    const again = await submit();
    expect((again.body as { checks: { id: string }[] }).checks.map((c) => c.id)).toEqual(ids);
    const added = (await allJobIds()).filter((id) => !before.includes(id));
    expect(added).toEqual([...ids].sort());
    // Another body under the same key is a conflict, and enqueues nothing.
    expect((await submit({ items: [checkRequest('OTHER')] })).status).toBe(409);
    expect((await allJobIds()).length).toBe(before.length + 3);
  });
});
