import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../../src/shared/clients/dynamodb.js';
import { AcquireAbortedError } from '../../../src/shared/errors/acquire-aborted-error.js';
import { AcquireTimeoutError } from '../../../src/shared/errors/acquire-timeout-error.js';
import { LeaseLostError } from '../../../src/shared/errors/lease-lost-error.js';
import { SemaphoreStoreError } from '../../../src/shared/errors/semaphore-store-error.js';
import { freePort } from '../../../src/shared/local/free-port.js';
import {
  DynamoSemaphoreStore,
  Semaphore,
  inspectSemaphore,
  type SlotLease,
} from '../../../src/shared/semaphore/index.js';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const timing = { stediTimeoutMs: 1_500, skewMarginMs: 100 };

let env: SemaphoreEnv;
beforeEach(async () => {
  env = await semaphoreEnv();
});
afterEach(async () => {
  await env.close();
});

async function acquireAll(
  sem: Semaphore,
  n: number,
  pool: 'realtime' | 'batch',
): Promise<SlotLease[]> {
  return Promise.all(Array.from({ length: n }, () => sem.acquire({ pool })));
}

describe('Semaphore against dynalite', () => {
  it('grants L slots on a fresh, unseeded table and makes the next acquirer wait', async () => {
    const sem = env.make({ capacity: 3, ...timing });
    const leases = await acquireAll(sem, 3, 'realtime');
    expect(new Set(leases.map((l) => l.slot))).toEqual(new Set([0, 1, 2]));
    await expect(sem.acquire({ pool: 'realtime', timeoutMs: 300 })).rejects.toBeInstanceOf(
      AcquireTimeoutError,
    );
    const status = await inspectSemaphore(env.store, {
      name: env.name,
      capacity: 3,
      realtimeReserved: 0,
      ...timing,
    });
    expect(status.holders).toHaveLength(3);
    expect(status.free).toBe(0);
    await Promise.all(leases.map((l) => l.release()));
  });

  it('never lets batch hold more than L - R, while realtime takes the reserved slots', async () => {
    const sem = env.make({ capacity: 4, realtimeReserved: 2, ...timing });
    const batch = await acquireAll(sem, 2, 'batch');
    await expect(sem.acquire({ pool: 'batch', timeoutMs: 300 })).rejects.toBeInstanceOf(
      AcquireTimeoutError,
    );
    const realtime = await acquireAll(sem, 2, 'realtime');
    expect(realtime.map((l) => l.slot).sort()).toEqual([2, 3]);
    const status = await inspectSemaphore(env.store, {
      name: env.name,
      capacity: 4,
      realtimeReserved: 2,
      ...timing,
    });
    expect(status.heldByPool).toEqual({ realtime: 2, batch: 2 });
    await Promise.all([...batch, ...realtime].map((l) => l.release()));
  });

  it('wakes a waiter in another process within milliseconds of a release (Redis hint)', async () => {
    const a = env.make({ capacity: 1, fallbackCheckMs: 10_000, ...timing });
    const b = env.make({ capacity: 1, fallbackCheckMs: 10_000, ...timing });
    const held = await a.acquire({ pool: 'batch' });
    const waiting = b.acquire({ pool: 'batch' });
    await sleep(200);
    const releasedAt = Date.now();
    await held.release();
    const lease = await waiting;
    expect(Date.now() - releasedAt).toBeLessThan(250);
    await lease.release();
  });

  it('still grants through the fallback check when hints are unavailable', async () => {
    const a = env.make({ capacity: 1, hints: false, fallbackCheckMs: 150, ...timing });
    const b = env.make({ capacity: 1, hints: false, fallbackCheckMs: 150, ...timing });
    const held = await a.acquire({ pool: 'batch' });
    const waiting = b.acquire({ pool: 'batch', timeoutMs: 3_000 });
    await sleep(100);
    await held.release();
    const lease = await waiting;
    expect(lease.slot).toBe(0);
    await lease.release();
  });

  it('reclaims a dead holder idle slot within lease + 1 s', async () => {
    const now = Date.now();
    const leaseMs = 400;
    await env.store.claim(
      env.name,
      0,
      { owner: 'dead-worker', pool: 'batch', now, leaseUntil: now + leaseMs },
      {
        leaseEndedBefore: 0,
        callStartedBefore: 0,
      },
    );
    const sem = env.make({ capacity: 1, leaseMs, fallbackCheckMs: 5_000, ...timing });
    const lease = await sem.acquire({ pool: 'batch', timeoutMs: 5_000 });
    const waited = Date.now() - now;
    expect(waited).toBeGreaterThanOrEqual(leaseMs + timing.skewMarginMs);
    expect(waited).toBeLessThan(leaseMs + 1_000);
    await lease.release();
  });

  it('keeps a dead holder in-call slot until call start + Stedi bound, and no longer than needed', async () => {
    const now = Date.now();
    await env.store.claim(
      env.name,
      0,
      { owner: 'dead-worker', pool: 'batch', now, leaseUntil: now + 200, callStartedAt: now },
      { leaseEndedBefore: 0, callStartedBefore: 0 },
    );
    const sem = env.make({ capacity: 1, leaseMs: 200, fallbackCheckMs: 5_000, ...timing });
    const lease = await sem.acquire({ pool: 'batch', timeoutMs: 6_000 });
    const waited = Date.now() - now;
    expect(waited).toBeGreaterThanOrEqual(timing.stediTimeoutMs + timing.skewMarginMs);
    expect(waited).toBeLessThan(timing.stediTimeoutMs + timing.skewMarginMs + 1_000);
    await lease.release();
  });

  it('renews a held slot across many lease periods so nobody can take it', async () => {
    const a = env.make({ capacity: 1, leaseMs: 300, ...timing });
    const b = env.make({ capacity: 1, leaseMs: 300, fallbackCheckMs: 100, ...timing });
    let renewals = 0;
    a.on('renewed', () => renewals++);
    const lease = await a.acquire({ pool: 'batch' });
    await expect(b.acquire({ pool: 'batch', timeoutMs: 2_000 })).rejects.toBeInstanceOf(
      AcquireTimeoutError,
    );
    expect(renewals).toBeGreaterThanOrEqual(5);
    expect(lease.lost).toBeUndefined();
    await lease.release();
  });

  it('reports a lost lease and refuses to start another call on it', async () => {
    const sem = env.make({ capacity: 1, leaseMs: 10_000, ...timing });
    const lost: LeaseLostError[] = [];
    sem.on('leaseLost', (e) => lost.push(e));
    const lease = await sem.acquire({ pool: 'batch' });
    const onLost = new Promise<LeaseLostError>((resolve) => lease.onLost(resolve));
    // An operator force-releases it and another holder takes it.
    await env.store.forceRelease(env.name, 0, null);
    const now = Date.now();
    await env.store.claim(
      env.name,
      0,
      { owner: 'other', pool: 'batch', now, leaseUntil: now + 10_000 },
      {
        leaseEndedBefore: 0,
        callStartedBefore: 0,
      },
    );
    await expect(lease.renewNow()).rejects.toBeInstanceOf(LeaseLostError);
    expect(await onLost).toBeInstanceOf(LeaseLostError);
    expect(lease.lostSignal.aborted).toBe(true);
    await expect(lease.markCallStart()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toHaveLength(1);
    await lease.release();
    const records = await env.store.listSlots(env.name);
    expect(records[0]?.owner).toBe('other');
  });

  it('hands a finishing holder slot to a local waiter without a DynamoDB write', async () => {
    const sem = env.make({ capacity: 1, ...timing });
    const first = await sem.acquire({ pool: 'batch', markCallStart: true });
    const waiting = sem.acquire({ pool: 'batch', markCallStart: true });
    await sleep(50);
    const before = env.requests();
    await first.release();
    const second = await waiting;
    expect(second.handedOver).toBe(true);
    expect(second.slot).toBe(first.slot);
    expect(env.requests() - before).toBe(0);
    await second.release();
  });

  it('hands a shared slot to a local realtime waiter before a batch waiter', async () => {
    const sem = env.make({ capacity: 1, ...timing });
    const first = await sem.acquire({ pool: 'batch' });
    const batch = sem.acquire({ pool: 'batch' });
    const realtime = sem.acquire({ pool: 'realtime' });
    await sleep(50);
    await first.release();
    const winner = await realtime;
    expect(sem.waiting()).toEqual({ realtime: 0, batch: 1 });
    await winner.release();
    await (await batch).release();
  });

  it('makes batch in another process yield a shared slot to a realtime waiter (realtime demand)', async () => {
    const a = env.make({ capacity: 2, fallbackCheckMs: 10_000, ...timing });
    const b = env.make({ capacity: 2, fallbackCheckMs: 10_000, ...timing });
    const held = await acquireAll(b, 2, 'batch');
    const batchWaiting = b.acquire({ pool: 'batch' });
    const realtime = a.acquire({ pool: 'realtime', timeoutMs: 3_000 });
    await sleep(150);
    await held[0]!.release();
    const lease = await realtime;
    expect(lease.slot).toBe(held[0]!.slot);
    expect(b.waiting().batch).toBe(1);
    await lease.release();
    await held[1]!.release();
    await (await batchWaiting).release();
  });

  it('keeps hand-over to a fair share while another process waits for batch slots', async () => {
    const a = env.make({ capacity: 4, fallbackCheckMs: 10_000, ...timing });
    const b = env.make({ capacity: 4, fallbackCheckMs: 10_000, ...timing });
    const held = await acquireAll(a, 4, 'batch');
    const aWaiting = a.acquire({ pool: 'batch' });
    const bWaiting = [b.acquire({ pool: 'batch' }), b.acquire({ pool: 'batch' })];
    await sleep(150);
    // a holds 4 of 4 while b waits: its fair share is 2, so its next two releases go to b.
    await held[0]!.release();
    await held[1]!.release();
    const bLeases = await Promise.all(bWaiting);
    expect(a.heldSlots()).toHaveLength(2);
    expect(a.waiting().batch).toBe(1);
    await held[2]!.release();
    const third = await aWaiting;
    expect(third.handedOver).toBe(true);
    await Promise.all([third, held[3]!, ...bLeases].map((l) => l.release()));
  });

  it('records the call start with the claim when asked, so a crash keeps the slot to the bound', async () => {
    const sem = env.make({ capacity: 1, ...timing });
    const lease = await sem.acquire({ pool: 'realtime', markCallStart: true });
    const [record] = await env.store.listSlots(env.name);
    expect(record?.callStartedAt).toBeGreaterThan(Date.now() - 5_000);
    await lease.release();
    const [after] = await env.store.listSlots(env.name);
    expect(after?.owner).toBeUndefined();
    expect(after?.callStartedAt).toBeUndefined();
  });

  it('writes the call start again once the recorded cover has passed', async () => {
    const sem = env.make({ capacity: 1, leaseMs: 3_000, callCoverAheadMs: 250, ...timing });
    const lease = await sem.acquire({ pool: 'batch', markCallStart: true });
    const [first] = await env.store.listSlots(env.name);
    // Within the skew margin (100 ms) of its end, a cover no longer counts for a call starting now.
    await sleep(200);
    const before = env.requests();
    await lease.markCallStart();
    expect(env.requests() - before).toBe(1);
    const [second] = await env.store.listSlots(env.name);
    expect(second?.callStartedAt).toBeGreaterThan((first?.callStartedAt ?? 0) + 100);
    expect(second?.callStartedAt).toBeGreaterThanOrEqual(Date.now());
    await lease.release();
  });

  it('honours AbortSignal while waiting', async () => {
    const sem = env.make({ capacity: 1, ...timing });
    const held = await sem.acquire({ pool: 'batch' });
    const controller = new AbortController();
    const waiting = sem.acquire({ pool: 'batch', signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(waiting).rejects.toBeInstanceOf(AcquireAbortedError);
    expect(sem.waiting().batch).toBe(0);
    await held.release();
  });

  it('fails closed when DynamoDB is unreachable: acquire rejects, nothing is granted', async () => {
    const port = await freePort();
    const client = createDynamoClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      maxAttempts: 1,
    });
    const sem = new Semaphore({
      store: new DynamoSemaphoreStore(client, env.table),
      name: env.name,
      capacity: 2,
    });
    const errors: Error[] = [];
    sem.on('error', (e) => errors.push(e));
    await expect(sem.acquire({ pool: 'batch', timeoutMs: 5_000 })).rejects.toBeInstanceOf(
      SemaphoreStoreError,
    );
    expect(sem.heldSlots()).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    await sem.close();
    client.destroy();
  });
});
