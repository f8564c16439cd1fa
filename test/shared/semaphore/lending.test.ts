import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError } from '../../../src/shared/errors/acquire-timeout-error.js';
import type { Semaphore, SlotLease, WaiterAdmission } from '../../../src/shared/semaphore/index.js';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Short bounds; fallbackCheckMs is long so that every grant below comes from the path under test
// (a release, a hint, recheck(), setHeadroom / setRealtimeReserved), not from the periodic check.
const timing = { stediTimeoutMs: 1_500, skewMarginMs: 100, fallbackCheckMs: 10_000 };

let env: SemaphoreEnv;
beforeEach(async () => {
  env = await semaphoreEnv();
});
afterEach(async () => {
  await env.close();
});

/** An admission whose answer the test sets, counting reserve() and its undo. */
interface TestAdmission extends WaiterAdmission {
  allowed: boolean;
  reserves: number;
  undos: number;
}

function admission(allowed: boolean): TestAdmission {
  const a: TestAdmission = {
    allowed,
    reserves: 0,
    undos: 0,
    mayStart: () => a.allowed,
    reserve: () => {
      a.reserves++;
      return () => {
        a.undos++;
      };
    },
  };
  return a;
}

/** An acquire whose outcome the test can look at without awaiting it (and never unhandled). */
interface Pending {
  readonly promise: Promise<SlotLease>;
  settled: boolean;
  lease: SlotLease | undefined;
}

function pending(promise: Promise<SlotLease>): Pending {
  const p: Pending = { promise, settled: false, lease: undefined };
  promise.then(
    (lease) => {
      p.settled = true;
      p.lease = lease;
    },
    () => {
      p.settled = true;
    },
  );
  return p;
}

async function acquireAll(sem: Semaphore, n: number, pool: 'realtime' | 'batch') {
  return Promise.all(Array.from({ length: n }, () => sem.acquire({ pool })));
}

async function slotOwners(): Promise<Record<number, string | undefined>> {
  const records = await env.store.listSlots(env.name);
  return Object.fromEntries(records.map((r) => [r.slot, r.owner === undefined ? 'free' : r.pool]));
}

describe('admission (payer and tenant limits asked at grant time)', () => {
  it('passes over a waiter that may not start, and grants it on recheck() once it may', async () => {
    const sem = env.make({ capacity: 2, ...timing });
    const blocked = admission(false);
    const ok = admission(true);
    const first = pending(sem.acquire({ pool: 'batch', admission: blocked }));
    const second = await sem.acquire({ pool: 'batch', admission: ok });
    await sleep(150);
    expect(first.settled).toBe(false);
    expect(blocked.reserves).toBe(0);
    expect(ok.reserves).toBe(1);
    expect(sem.waiting().batch).toBe(1);

    blocked.allowed = true;
    const t = Date.now();
    sem.recheck();
    const lease = await first.promise;
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(lease.slot).not.toBe(second.slot);
    expect(blocked.reserves).toBe(1);
    expect(blocked.undos).toBe(0);
    expect(ok.reserves).toBe(1);
    await lease.release();
    await second.release();
  });

  it('hands a released slot to the first waiter that may start, and not to one that may not', async () => {
    const sem = env.make({ capacity: 1, ...timing });
    const holder = await sem.acquire({ pool: 'batch' });
    const blocked = admission(false);
    const ok = admission(true);
    const first = pending(sem.acquire({ pool: 'batch', admission: blocked }));
    const second = pending(sem.acquire({ pool: 'batch', admission: ok }));
    await sleep(100);
    await holder.release();
    const lease = await second.promise;
    expect(lease.handedOver).toBe(true);
    expect(lease.slot).toBe(holder.slot);
    expect(ok.reserves).toBe(1);
    expect(blocked.reserves).toBe(0);
    expect(first.settled).toBe(false);

    // Nobody eligible waits: the slot goes back to DynamoDB instead of to the blocked waiter.
    await lease.release();
    await sleep(100);
    expect(first.settled).toBe(false);
    expect(await slotOwners()).toEqual({ 0: 'free' });
    blocked.allowed = true;
    sem.recheck();
    await (await first.promise).release();
    expect(blocked.reserves).toBe(1);
  });

  it('undoes the reservation of a claim lost to another holder, netting one per grant', async () => {
    // random 0: this process tries slot 0 first (see slotPreference's offset).
    const sem = env.make({ capacity: 2, ...timing, random: () => 0 });
    // Load the cached view, then let another process take slot 0 behind its back.
    await (await sem.acquire({ pool: 'batch' })).release();
    const now = Date.now();
    await env.store.claim(
      env.name,
      0,
      { owner: 'other-process', pool: 'batch', now, leaseUntil: now + 60_000 },
      { leaseEndedBefore: 0, callStartedBefore: 0 },
    );
    const a = admission(true);
    const lease = await sem.acquire({ pool: 'batch', admission: a });
    expect(lease.slot).toBe(1);
    expect(a.undos).toBeGreaterThanOrEqual(1);
    expect(a.reserves - a.undos).toBe(1);
    await lease.release();
  });
});

describe('headroom (idle slots batch leaves for realtime)', () => {
  it('keeps one of three slots idle for realtime at headroom 1, and lends it at headroom 0', async () => {
    const sem = env.make({ capacity: 3, ...timing });
    sem.setHeadroom(1);
    expect(sem.realtimeHeadroom).toBe(1);
    const waiters = [1, 2, 3].map(() => pending(sem.acquire({ pool: 'batch' })));
    await sleep(250);
    expect(waiters.filter((w) => w.settled)).toHaveLength(2);
    expect(sem.heldSlots()).toHaveLength(2);
    // Realtime finds the idle slot at once.
    const rt = await sem.acquire({ pool: 'realtime', timeoutMs: 500 });
    await rt.release();
    await sleep(150); // its release hint has come back and found batch still held back
    expect(waiters.filter((w) => w.settled)).toHaveLength(2);

    const t = Date.now();
    sem.setHeadroom(0);
    await Promise.all(waiters.map((w) => w.promise));
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(sem.heldSlots()).toHaveLength(3);
    await Promise.all(waiters.map(async (w) => (await w.promise).release()));
  });

  it('counts slots other processes hold: batch takes only what leaves the headroom idle', async () => {
    const a = env.make({ capacity: 3, ...timing });
    const b = env.make({ capacity: 3, ...timing });
    const rt = await b.acquire({ pool: 'realtime' });
    a.setHeadroom(1);
    const waiters = [1, 2].map(() => pending(a.acquire({ pool: 'batch' })));
    await sleep(250);
    expect(waiters.filter((w) => w.settled)).toHaveLength(1);
    await expect(a.acquire({ pool: 'batch', timeoutMs: 200 })).rejects.toBeInstanceOf(
      AcquireTimeoutError,
    );
    await rt.release();
    // The release hint: one more slot is idle, so one more batch check may go.
    await Promise.all(waiters.map((w) => w.promise));
    await Promise.all(waiters.map(async (w) => (await w.promise).release()));
  });
});

describe('refill (realtime took an idle slot below the headroom)', () => {
  it('makes the next batch call to finish in any process release its slot, then hands over again', async () => {
    const a = env.make({ capacity: 3, ...timing });
    const b = env.make({ capacity: 3, ...timing });
    a.setHeadroom(1);
    b.setHeadroom(1);
    const [l1, l2] = await acquireAll(a, 2, 'batch');
    const waiter = pending(a.acquire({ pool: 'batch' }));
    await sleep(150);
    expect(waiter.settled).toBe(false); // the third slot is the headroom

    // Realtime in b takes the idle slot: fewer idle than the headroom, so b asks for a refill.
    const rt = await b.acquire({ pool: 'realtime' });
    expect([l1!.slot, l2!.slot]).not.toContain(rt.slot);
    await sleep(150); // the refill hint reaches a

    // a's next batch call to finish gives its slot back instead of handing it to a's waiter.
    await l1!.release();
    await sleep(250);
    expect(waiter.settled).toBe(false);
    const owners = await slotOwners();
    expect(['free', 'realtime']).toContain(owners[l1!.slot]);
    expect(a.heldSlots()).toEqual([l2!.slot]);

    // The refill is paid: the next batch call to finish hands over as usual.
    await l2!.release();
    const next = await waiter.promise;
    expect(next.handedOver).toBe(true);
    expect(next.slot).toBe(l2!.slot);
    await next.release();
    await rt.release();
  });
});

describe('realtime floor (setRealtimeReserved)', () => {
  it('never lets batch claim the floor slot', async () => {
    const sem = env.make({ capacity: 2, ...timing });
    sem.setRealtimeReserved(1);
    const b0 = await sem.acquire({ pool: 'batch' });
    expect(b0.slot).toBe(0);
    await expect(sem.acquire({ pool: 'batch', timeoutMs: 300 })).rejects.toBeInstanceOf(
      AcquireTimeoutError,
    );
    const rt = await sem.acquire({ pool: 'realtime', timeoutMs: 500 });
    expect(rt.slot).toBe(1);
    expect(await slotOwners()).toEqual({ 0: 'batch', 1: 'realtime' });
    await rt.release();
    await b0.release();
  });

  it('gives back a batch slot that became floor instead of handing it to batch', async () => {
    const sem = env.make({ capacity: 2, ...timing });
    const [h0, h1] = await acquireAll(sem, 2, 'batch');
    const onFloor = h0!.slot === 1 ? h0! : h1!;
    const shared = h0!.slot === 1 ? h1! : h0!;
    const waiter = pending(sem.acquire({ pool: 'batch' }));
    await sleep(100);
    sem.setRealtimeReserved(1);
    await onFloor.release();
    await sleep(200);
    expect(waiter.settled).toBe(false);
    expect((await slotOwners())[1]).toBe('free');
    // The shared slot still goes to the batch waiter.
    await shared.release();
    const lease = await waiter.promise;
    expect(lease.handedOver).toBe(true);
    expect(lease.slot).toBe(0);
    await lease.release();
  });

  it('lends the slot to a waiting batch check as soon as the floor is lowered', async () => {
    const sem = env.make({ capacity: 2, realtimeReserved: 1, ...timing });
    const b0 = await sem.acquire({ pool: 'batch' });
    const waiter = pending(sem.acquire({ pool: 'batch' }));
    await sleep(150);
    expect(waiter.settled).toBe(false);
    const t = Date.now();
    sem.setRealtimeReserved(0);
    const lease = await waiter.promise;
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(lease.slot).toBe(1);
    await lease.release();
    await b0.release();
  });
});
