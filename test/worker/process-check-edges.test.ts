/**
 * The check processor at the edges: a check reaching its slot wait after shutdown began goes back
 * to wait without a call; a store error on the call-start check right before the call delays it
 * without spending an attempt; PAYER_OUTAGE_MAX_WAIT_MS counts from the outage, not the check's age.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import type { Job } from 'bullmq';
import {
  DataCipher,
  generateDataKeySpec,
  parseDataKeys,
} from '../../src/shared/crypto/data-cipher.js';
import { createLogger } from '../../src/shared/logger.js';
import type { SemaphoreStore } from '../../src/shared/semaphore/index.js';
import type { EffectiveLimits } from '../../src/shared/scheduling/limits.js';
import { SchedulerKeys } from '../../src/shared/scheduling/keys.js';
import { createWorkerMetrics } from '../../src/worker/metrics.js';
import { checkProcessor } from '../../src/worker/process-check.js';
import type { StediClient } from '../../src/worker/stedi/stedi-client.js';
import { StediTransportError } from '../../src/worker/stedi/stedi-transport-error.js';
import { KeyScheduler } from '../../src/worker/scheduling/key-scheduler.js';
import type { CheckJobData, CheckJobResult } from '../../src/shared/check-job.js';
import { checkRequest } from '../support/fixtures.js';
import { semaphoreEnv, type SemaphoreEnv } from '../support/semaphore-env.js';
import { uniqueName } from '../support/names.js';

let env: SemaphoreEnv;
let redis: Redis;
let scheduler: KeyScheduler;
beforeEach(async () => {
  env = await semaphoreEnv();
  redis = new Redis(inject('redisUrl'));
});
afterEach(async () => {
  await scheduler?.close();
  await env.close();
  redis.disconnect();
});

const limits: EffectiveLimits = {
  allocation: 2,
  realtimeReserved: 0,
  payers: { defaultCap: '50%', caps: {}, npiCap: 0 },
  tenants: {},
  lending: { floor: 0, waitTargetMs: 1000, waitPercentile: 95 },
};

function setup(
  opts: { store?: SemaphoreStore; callCoverAheadMs?: number; stedi?: StediClient } = {},
) {
  const prefix = uniqueName('q');
  scheduler = new KeyScheduler({
    redis,
    prefix,
    limits: () => limits,
    rules: { initialConcurrency: 2, maxConcurrency: 2, failureThreshold: 3, cooldownMs: 120_000 },
    tokenTtlMs: 10_000,
  });
  const semaphore = env.make({
    capacity: 2,
    hints: false,
    leaseMs: 1_500,
    stediTimeoutMs: 1_500,
    skewMarginMs: 100,
    fallbackCheckMs: 200,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.callCoverAheadMs !== undefined ? { callCoverAheadMs: opts.callCoverAheadMs } : {}),
  });
  const cipher = new DataCipher(parseDataKeys(generateDataKeySpec()));
  const shutdown = new AbortController();
  let stediCalls = 0;
  const deps = {
    semaphore,
    stedi: opts.stedi ?? {
      endpoint: 'v3' as const,
      check: async () => {
        stediCalls++;
        return { status: 200, body: { benefitsInformation: [] } };
      },
    },
    scheduler,
    payerOpenRealtime: 'fail' as const,
    slowCallMs: 10_000,
    outageMaxWaitMs: 6 * 3_600_000,
    metrics: createWorkerMetrics(),
    logger: createLogger({ level: 'silent' }),
    shutdown: shutdown.signal,
    throttleRetryMs: 100,
    holdsJob: async () => true,
    cipher,
  };
  const moves: string[] = [];
  const job = (timestamp = Date.now()) =>
    ({
      id: 'bt_review',
      data: {
        request: cipher.seal(checkRequest()),
        priority: 'batch',
        submittedAt: timestamp,
        submittedBy: 'tenant-a',
      },
      opts: {},
      attemptsMade: 0,
      timestamp,
      moveToWait: async () => void moves.push('wait'),
      moveToDelayed: async () => void moves.push('delayed'),
      changePriority: async () => void moves.push('priority'),
    }) as unknown as Job<CheckJobData, CheckJobResult>;
  return { deps, shutdown, job, moves, prefix, stediCalls: () => stediCalls };
}

it('sends a check that reaches its slot wait after shutdown began back to wait, with no call', async () => {
  const s = setup();
  s.shutdown.abort(new Error('worker shutting down')); // SIGTERM came first
  const run = checkProcessor('batch', s.deps)(s.job(), 'token');
  // WaitingError: the check went back to wait. Before the fix it took a slot and called Stedi.
  expect(
    await run.then(
      () => 'completed',
      (err: Error) => err.name,
    ),
  ).toBe('WaitingError');
  expect(s.stediCalls()).toBe(0);
  expect(s.moves).toContain('wait');
});

it('delays a check whose pre-call call-start check hits a store error, without an attempt', async () => {
  let failRenew = false;
  const store: SemaphoreStore = Object.create(env.store) as SemaphoreStore;
  store.renew = async (...args: Parameters<SemaphoreStore['renew']>) => {
    if (failRenew) throw new Error('ProvisionedThroughputExceededException');
    return env.store.renew(...args);
  };
  // A token take slower than the call cover (here 150 ms less the 100 ms skew margin; 7.5 s by
  // default) needs a write.
  const s = setup({ store, callCoverAheadMs: 150 });
  const origStarted = scheduler.admission.bind(scheduler);
  scheduler.admission = (keys) => {
    const a = origStarted(keys);
    const started = a.started.bind(a);
    a.started = async () => {
      const r = await started();
      failRenew = true;
      await new Promise((r2) => setTimeout(r2, 120));
      return r;
    };
    return a;
  };
  const err = await checkProcessor('batch', s.deps)(s.job(), 'token').then(
    () => undefined,
    (e: Error) => e,
  );
  // Delayed (DelayedError: no attempt spent), as the same store error inside acquire is.
  expect(err?.name).toBe('DelayedError');
  expect(s.moves).toContain('delayed');
});

it('sends no request whose call cover lapsed after markCallStart (a stall before the send): it covers the call again first', async () => {
  // What the slot's recorded cover had left (ms) at each request that went out.
  const coverLeftAtSend: number[] = [];
  let stalled = false;
  const stedi: StediClient = {
    endpoint: 'v3',
    check: async (_body, options) => {
      // The process stalls between the call-start check and the send (the HTTP client's own
      // steps, a GC pause, SIGSTOP) for longer than the 300 ms cover ahead.
      if (!stalled) {
        stalled = true;
        await new Promise((r) => setTimeout(r, 450));
      }
      options?.beforeSend?.();
      const sentAt = Date.now();
      const slots = await env.store.listSlots(env.name);
      const cover = slots.find((r) => r.owner !== undefined)?.callStartedAt ?? -Infinity;
      coverLeftAtSend.push(cover - sentAt);
      return { status: 200, body: { benefitsInformation: [] } };
    },
  };
  const s = setup({ callCoverAheadMs: 300, stedi });
  const result = await checkProcessor('batch', s.deps)(s.job(), 'token');
  expect(result.callMs).toBeGreaterThanOrEqual(0);
  // One request, sent with a fresh cover past the 100 ms skew margin. Sent as it was, it would
  // have run 150 ms past its cover, where another worker may reclaim the slot while it runs.
  expect(coverLeftAtSend).toHaveLength(1);
  expect(coverLeftAtSend[0]).toBeGreaterThanOrEqual(100);
  expect(s.moves).toEqual([]);
});

it.each([
  {
    mayStillRun: true,
    what: 'keeps the slot of a call sent with no answer back (a reset) until its bound',
  },
  {
    mayStillRun: false,
    what: "frees the slot of a call our own timeout gave up, past Stedi's bound",
  },
])('$what', async ({ mayStillRun }) => {
  let owner: string | undefined;
  const stedi: StediClient = {
    endpoint: 'v3',
    check: async (_body, options) => {
      options?.beforeSend?.();
      const slots = await env.store.listSlots(env.name);
      owner = slots.find((r) => r.owner !== undefined)?.owner;
      throw new StediTransportError('Stedi call failed: network error ECONNRESET', {
        mayStillRun,
      });
    },
  };
  const s = setup({ stedi });
  const err = await checkProcessor('batch', s.deps)(s.job(), 'token').then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.name).toBe('RetryableCheckError');
  expect(owner).toBeDefined();
  const record = (await env.store.listSlots(env.name)).find((r) => r.owner === owner);
  if (mayStillRun) {
    // Still taken by the call's owner, its recorded call start holding it until its bound.
    expect(record?.callStartedAt).toBeGreaterThan(Date.now() - 1_500);
  } else {
    expect(record).toBeUndefined();
  }
});

it('does not fail an old check the moment its payer breaker opens', async () => {
  const s = setup();
  const now = Date.now();
  // The payer's breaker opened just now (3 failures in a row), for the 2-minute cool-down.
  await redis.hset(new SchedulerKeys(s.prefix).payer('87726'), 'openUntil', now + 120_000);
  await scheduler.breakerNow('87726');
  const sevenHoursAgo = now - 7 * 3_600_000; // a check from the back of a big backlog
  const err = await checkProcessor('batch', s.deps)(s.job(sevenHoursAgo), 'token').then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err?.name).not.toBe('UnrecoverableError');
});
