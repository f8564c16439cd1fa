/**
 * The semaphore's protocol under store faults, deterministically: an in-memory store with
 * injected latency, errors, lost and slow responses and hung requests, driven by fake timers.
 * Each test names the defect it pins (issue 12).
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { AcquireAbortedError } from '../../../src/shared/errors/acquire-aborted-error.js';
import { CallCoverLapsedError } from '../../../src/shared/errors/call-cover-lapsed-error.js';
import { SemaphoreStoreError } from '../../../src/shared/errors/semaphore-store-error.js';
import { Semaphore, type SemaphoreOptions } from '../../../src/shared/semaphore/index.js';
import { MemorySemaphoreStore } from '../../support/memory-semaphore-store.js';

const name = 'acct';
const timing = { leaseMs: 3_000, stediTimeoutMs: 10_000, skewMarginMs: 100 };
let made: Semaphore[] = [];
let errors: Error[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  made = [];
  errors = [];
});
afterEach(async () => {
  const closing = Promise.allSettled(made.map((s) => s.close()));
  await vi.advanceTimersByTimeAsync(30_000);
  await closing;
  vi.useRealTimers();
});

function make(store: MemorySemaphoreStore, options: Partial<SemaphoreOptions> = {}): Semaphore {
  const sem = new Semaphore({
    store,
    name,
    capacity: 1,
    fallbackCheckMs: 500,
    // Read at each call, so the fake clock is used (the default captured the real Date.now).
    now: () => Date.now(),
    random: () => 0.5,
    ...timing,
    ...options,
  });
  sem.on('error', (e) => errors.push(e));
  made.push(sem);
  return sem;
}

/** Advances fake time in small steps until `p` settles (or `maxMs` passed); returns its value. */
async function run<T>(p: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let t = 0; !done && t < maxMs; t += 10) await vi.advanceTimersByTimeAsync(10);
  return p;
}

/** When `p` settles, in fake time; undefined while it has not. */
function settledAt(p: Promise<unknown>): () => number | undefined {
  let at: number | undefined;
  void p.then(
    () => (at = Date.now()),
    () => (at = Date.now()),
  );
  return () => at;
}

it('(1) keeps the slot of a call still running when its holder closes, until call start + bound', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const b = make(store);
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  await run(lease.markCallStart());
  const callStart = Date.now();
  const second = b.acquire({ pool: 'batch', markCallStart: true });
  const grantedAt = settledAt(second);
  // A rollout's grace period (1 s) ends before the call: the worker closes its semaphore.
  await vi.advanceTimersByTimeAsync(1_000);
  await run(a.close());
  expect(store.slots(name)[0]?.owner).toBe(lease.owner);
  await vi.advanceTimersByTimeAsync(timing.stediTimeoutMs);
  expect(grantedAt()).toBeUndefined();
  await run(second);
  expect(grantedAt()).toBeGreaterThan(callStart + timing.stediTimeoutMs + timing.skewMarginMs);
});

it('(1) releases at once on close a slot granted but not called on, and refuses its call', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  await run(a.close());
  expect(store.slots(name)[0]?.owner).toBeUndefined();
  await expect(run(lease.markCallStart())).rejects.toBeInstanceOf(AcquireAbortedError);
});

it('(2) never renews a slot again once its release began, even when the release fails', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const lease = await run(a.acquire({ pool: 'batch' }));
  store.inject('renew', { kind: 'slowResponse', ms: 200 });
  const renewing = lease.renewNow();
  await vi.advanceTimersByTimeAsync(50);
  store.inject('release', { kind: 'error' }, 10);
  await run(lease.release());
  await run(renewing);
  const renewals = store.requests.renew;
  await vi.advanceTimersByTimeAsync(10 * timing.leaseMs);
  expect(store.requests.renew).toBe(renewals);
  expect(a.heldSlots()).toEqual([]);
});

it('(2) raises no false "lease lost" when a renewal was in flight during a release that worked', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const lost: Error[] = [];
  a.on('leaseLost', (e) => lost.push(e));
  const lease = await run(a.acquire({ pool: 'batch' }));
  store.inject('renew', { kind: 'slowResponse', ms: 200 });
  const renewing = lease.renewNow();
  await vi.advanceTimersByTimeAsync(50);
  await run(lease.release());
  await run(renewing);
  await vi.advanceTimersByTimeAsync(10 * timing.leaseMs);
  expect(lost).toEqual([]);
  expect(store.slots(name)[0]?.owner).toBeUndefined();
});

it('(3) does not start a call on a claim whose answer came back after its cover', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { storeTimeoutMs: 2_000 });
  // The cover is written 1.5 s ahead (leaseMs / 2); the answer takes 1.45 s.
  store.inject('claim', { kind: 'slowResponse', ms: 1_450 });
  await run(a.acquire({ pool: 'batch', markCallStart: true }));
  expect(store.slots(name)[0]?.callStartedAt).toBeGreaterThanOrEqual(
    Date.now() + timing.skewMarginMs,
  );
});

it('(3) bounds a hung claim, and gives back the slot its write took', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { storeTimeoutMs: 500 });
  store.inject('claim', { kind: 'hang', lands: true });
  const acquiring = a.acquire({ pool: 'batch', markCallStart: true });
  const failedAt = settledAt(acquiring);
  const start = Date.now();
  await expect(run(acquiring)).rejects.toBeInstanceOf(SemaphoreStoreError);
  expect((failedAt() ?? Infinity) - start).toBeLessThanOrEqual(600);
  await vi.advanceTimersByTimeAsync(100);
  expect(store.slots(name)[0]?.owner).toBeUndefined();
  store.resumeHung();
});

it('(6) lets other waiters get free slots while one claim hangs', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { capacity: 2, storeTimeoutMs: 2_000 });
  store.inject('claim', { kind: 'hang', lands: false });
  const first = a.acquire({ pool: 'batch' });
  first.catch(() => undefined);
  await vi.advanceTimersByTimeAsync(20);
  const second = a.acquire({ pool: 'realtime' });
  const at = settledAt(second);
  const asked = Date.now();
  await vi.advanceTimersByTimeAsync(100);
  expect(at()).toBeDefined();
  expect((at() ?? Infinity) - asked).toBeLessThan(100);
  store.resumeHung();
  await run((await second).release());
});

it("(6) hands over without making the finishing holder wait for the next waiter's write", async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  // Held without a recorded call: the waiter, who calls at once, needs a call-start write.
  const holder = await run(a.acquire({ pool: 'batch' }));
  const next = a.acquire({ pool: 'batch', markCallStart: true });
  await vi.advanceTimersByTimeAsync(10);
  store.inject('renew', { kind: 'slowResponse', ms: 500 });
  const releasedAt = settledAt(holder.release());
  const finishing = Date.now();
  await vi.advanceTimersByTimeAsync(10);
  expect((releasedAt() ?? Infinity) - finishing).toBeLessThanOrEqual(10);
  const lease = await run(next);
  expect(lease.handedOver).toBe(true);
  // The hand-over wrote the call start the holder never had.
  expect(store.slots(name)[0]?.callStartedAt).toBeGreaterThanOrEqual(
    Date.now() + timing.skewMarginMs,
  );
});

it('(7) waits in close() for the clean-up of a claim whose answer was lost', async () => {
  const store = new MemorySemaphoreStore();
  store.latencyMs = 100;
  const a = make(store);
  store.inject('claim', { kind: 'lostResponse' });
  await expect(run(a.acquire({ pool: 'batch', markCallStart: true }))).rejects.toBeInstanceOf(
    SemaphoreStoreError,
  );
  expect(store.slots(name)[0]?.owner).toBeDefined(); // the write landed; its clean-up is on its way
  await run(a.close());
  expect(store.slots(name)[0]?.owner).toBeUndefined();
});

it('never lets batch hold more than L - R across processes, hand-overs included', async () => {
  const store = new MemorySemaphoreStore();
  store.latencyMs = 3;
  const capacity = 3;
  const reserved = 1;
  const sems = [0, 1].map(() => make(store, { capacity, realtimeReserved: reserved }));
  const batchHeld = new Set<string>();
  let worst = 0;
  let wrongSlot = 0;
  let rng = 42;
  const random = () => (rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const work = async (sem: Semaphore, pool: 'batch' | 'realtime', i: number) => {
    for (let n = 0; n < 15; n++) {
      const lease = await sem.acquire({ pool, markCallStart: true });
      const key = `${made.indexOf(sem)}:${lease.slot}`;
      if (pool === 'batch') {
        batchHeld.add(key);
        worst = Math.max(worst, batchHeld.size);
        if (lease.slot >= capacity - reserved) wrongSlot++;
      }
      await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 200) + i));
      batchHeld.delete(key);
      await lease.release();
    }
  };
  const all = Promise.all(
    sems.flatMap((sem) => [
      ...[0, 1, 2, 3].map((i) => work(sem, 'batch', i)),
      work(sem, 'realtime', 7),
    ]),
  );
  await run(all, 120_000);
  expect(worst).toBe(capacity - reserved);
  expect(wrongSlot).toBe(0);
});

it('keeps its slots through a store outage longer than the lease, and uses them as soon as it returns', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { storeTimeoutMs: 250 });
  const lost: Error[] = [];
  a.on('leaseLost', (e) => lost.push(e));
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  store.inject('*', { kind: 'hang', lands: false }, 1_000);
  await vi.advanceTimersByTimeAsync(3 * timing.leaseMs);
  // Down: past the cover, a call may not start on the slot.
  await expect(run(lease.markCallStart())).rejects.toBeInstanceOf(SemaphoreStoreError);
  store.clearFaults();
  store.resumeHung();
  await vi.advanceTimersByTimeAsync(timing.leaseMs / 10 + 50);
  // Back: the next renewal found the slot still ours; a call starts on it with no new claim.
  expect(lost).toEqual([]);
  await run(lease.markCallStart());
  expect(store.slots(name)[0]?.owner).toBe(lease.owner);
  expect(store.requests.claim).toBe(1);
});

it('gives back a slot whose release failed as soon as the store answers again, not at its bound', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  await run(lease.markCallStart());
  store.inject('release', { kind: 'error' }, 3);
  await run(lease.release());
  expect(store.slots(name)[0]?.owner).toBe(lease.owner);
  // Retried after 0.2, 0.4 and 0.8 s: the fourth attempt lands, well before cover + bound (11.5 s).
  await vi.advanceTimersByTimeAsync(1_500);
  expect(store.slots(name)[0]?.owner).toBeUndefined();
});

it('refuses only the waiter whose claim failed; the others still get slots', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { capacity: 2 });
  store.inject('claim', { kind: 'error' });
  const first = a.acquire({ pool: 'batch' });
  const second = a.acquire({ pool: 'batch' });
  const outcomes = await run(Promise.allSettled([first, second]));
  expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  const failed = outcomes.find((o) => o.status === 'rejected');
  expect(failed?.status === 'rejected' && failed.reason).toBeInstanceOf(SemaphoreStoreError);
});

it('(review) a renewal that lands after a newer one never lowers the cover of a running call', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { storeTimeoutMs: 750 });
  const b = make(store);
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  const t0 = Date.now();
  // The periodic renewal at +1 s (cover +2.5 s) reaches the store only at +3.2 s; its answer
  // is given up on at +1.75 s and the retry at +2.05 s lands at once (cover +3.55 s).
  store.inject('renew', { kind: 'landsLate', ms: 2_200 });
  await vi.advanceTimersByTimeAsync(3_000 - (Date.now() - t0));
  await run(lease.markCallStart()); // covered by the retry: no write, the call starts
  const callStart = Date.now();
  await run(a.close()); // a rollout: the slot is kept, renewals stop
  await vi.advanceTimersByTimeAsync(500); // the stale renewal lands now
  const second = b.acquire({ pool: 'batch', markCallStart: true });
  const grantedAt = settledAt(second);
  await run(second, 30_000);
  expect(grantedAt()).toBeGreaterThanOrEqual(callStart + timing.stediTimeoutMs);
});

it('(review) a claim that lands after its clean-up release is refused, not left taken by nobody', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { storeTimeoutMs: 750 });
  const b = make(store);
  store.inject('claim', { kind: 'landsLate', ms: 1_000 });
  await expect(run(a.acquire({ pool: 'batch', markCallStart: true }))).rejects.toBeInstanceOf(
    SemaphoreStoreError,
  );
  const t0 = Date.now();
  await vi.advanceTimersByTimeAsync(1_000); // the claim has landed (or been refused) by now
  const next = b.acquire({ pool: 'batch', markCallStart: true });
  const at = settledAt(next);
  await run(next, 30_000);
  expect((at() ?? Infinity) - t0).toBeLessThan(3_000);
});

it('(review) close() waits for a release its holder started, and for the hint subscription', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store);
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  store.latencyMs = 300;
  void lease.release();
  await vi.advanceTimersByTimeAsync(10);
  await run(a.close());
  expect(store.slots(name)[0]?.owner).toBeUndefined();
});

it('keeps at most maxClaimsInFlight claims in flight, and still serves every waiter', async () => {
  const store = new MemorySemaphoreStore();
  store.latencyMs = 20;
  let inFlight = 0;
  let most = 0;
  const claim = store.claim.bind(store);
  store.claim = async (...args: Parameters<MemorySemaphoreStore['claim']>) => {
    most = Math.max(most, ++inFlight);
    try {
      return await claim(...args);
    } finally {
      inFlight--;
    }
  };
  const a = make(store, { capacity: 30, maxClaimsInFlight: 4 });
  const leases = await run(
    Promise.all(Array.from({ length: 30 }, () => a.acquire({ pool: 'batch' }))),
  );
  expect(most).toBe(4);
  expect(new Set(leases.map((l) => l.slot)).size).toBe(30);
});

it('says batch waits here as soon as a batch acquire starts, before any round finds no slot', async () => {
  const store = new MemorySemaphoreStore();
  const published: string[] = [];
  const hints = {
    publish: (_name: string, hint: { kind: string }) => {
      published.push(hint.kind);
      return Promise.resolve();
    },
    subscribe: () => Promise.resolve(() => Promise.resolve()),
  };
  const a = make(store, { capacity: 2, hints });
  // A free slot: no round will go unserved, yet other processes must count this one at once.
  const lease = await run(a.acquire({ pool: 'batch' }));
  expect(published).toContain('batch-demand');
  await run(lease.release());
});

it('(4) does not spin on an expired slot its waiters may not use (a dead holder of a reserved slot)', async () => {
  const store = new MemorySemaphoreStore();
  const capacity = 2;
  // A realtime holder that died: its lease on the reserved slot (1) ended long ago.
  const t0 = Date.now();
  await run(
    store.claim(
      name,
      1,
      { owner: 'dead', pool: 'realtime', now: t0, leaseUntil: t0 + 10 },
      { leaseEndedBefore: t0, callStartedBefore: t0 },
    ),
  );
  await vi.advanceTimersByTimeAsync(1_000);
  const a = make(store, { capacity, realtimeReserved: 1 });
  const b = make(store, { capacity, realtimeReserved: 1 });
  // A holds the one shared slot; B's batch waiter may not take the claimable reserved one.
  await run(a.acquire({ pool: 'batch' }));
  const waiting = b.acquire({ pool: 'batch' });
  waiting.catch(() => undefined);
  await vi.advanceTimersByTimeAsync(100);
  const reads = store.requests.listSlots;
  await vi.advanceTimersByTimeAsync(5_000);
  // About one read per fallback check (500 ms, jittered) and per lease end of A's cached view:
  // a wake at 0 ms for the reserved slot read hundreds of times.
  expect(store.requests.listSlots - reads).toBeLessThanOrEqual(20);
  expect(b.heldSlots()).toEqual([]);
});

it('(review) takes over at once a slot its view, older than a lease, showed free while a holder died on it', async () => {
  const store = new MemorySemaphoreStore();
  const p = make(store, { fallbackCheckMs: 10_000 });
  const first = await run(p.acquire({ pool: 'batch' }));
  await run(first.release()); // P's view now shows the slot free, and P waits for nothing.
  // Another process takes the slot and dies: its lease is never renewed.
  const t = Date.now();
  await run(
    store.claim(
      name,
      0,
      { owner: 'dead', pool: 'batch', now: t, leaseUntil: t + timing.leaseMs },
      { leaseEndedBefore: t, callStartedBefore: t },
    ),
  );
  await vi.advanceTimersByTimeAsync(timing.leaseMs + timing.skewMarginMs + 1_000);
  const claims = store.requests.claim;
  const granted = settledAt(p.acquire({ pool: 'batch' }));
  const askedAt = Date.now();
  for (let i = 0; i < 20 && granted() === undefined; i++) await vi.advanceTimersByTimeAsync(10);
  // One claim with the full condition; a claim asking for a free slot was refused and the
  // waiter slept until the fallback check (10 s).
  expect((granted() ?? Infinity) - askedAt).toBeLessThan(100);
  expect(store.requests.claim - claims).toBe(1);
});

it('(stall) refuses at the send a call whose cover lapsed after markCallStart, until it is covered again', async () => {
  const store = new MemorySemaphoreStore();
  const a = make(store, { callCoverAheadMs: 1_000 });
  const lease = await run(a.acquire({ pool: 'batch', markCallStart: true }));
  await run(lease.markCallStart());
  expect(() => lease.assertCovered()).not.toThrow();
  // The process stalls (no timer, no I/O) past the cover less the skew margin.
  vi.setSystemTime(Date.now() + 950);
  expect(() => lease.assertCovered()).toThrow(CallCoverLapsedError);
  await run(lease.markCallStart());
  expect(() => lease.assertCovered()).not.toThrow();
  expect(store.slots(name)[0]?.callStartedAt).toBeGreaterThanOrEqual(
    Date.now() + timing.skewMarginMs,
  );
  // Closed (a rollout) before the send: the slot is kept for a call that may run, none starts.
  await run(a.close());
  expect(() => lease.assertCovered()).toThrow(AcquireAbortedError);
});
