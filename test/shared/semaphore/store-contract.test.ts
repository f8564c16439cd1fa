/**
 * The store's conditions, tested directly against DynamoDB's API (dynalite) and held equal in
 * the in-memory store the fault tests use: who may claim, renew and release a slot, and when.
 * The semaphore's safety rests on these conditions, not on its own bookkeeping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SemaphoreStore, SlotRecord } from '../../../src/shared/semaphore/index.js';
import { MemorySemaphoreStore } from '../../support/memory-semaphore-store.js';
import { SocketSemaphoreStore, startStoreServer } from '../../../bench/support/store-server.js';
import { uniqueName } from '../../support/names.js';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

let env: SemaphoreEnv;
let server: Awaited<ReturnType<typeof startStoreServer>>;
let remote: SocketSemaphoreStore | undefined;
beforeAll(async () => {
  env = await semaphoreEnv();
  server = await startStoreServer();
});
afterAll(async () => {
  remote?.close();
  await Promise.all([env.close(), server.close()]);
});

const bound = 90_000;
const skew = 500;
const cutoffsAt = (now: number) => ({
  leaseEndedBefore: now - skew,
  callStartedBefore: now - bound - skew,
});

const stores: [string, () => SemaphoreStore][] = [
  ['DynamoDB (dynalite)', () => env.store],
  ['in-memory', () => new MemorySemaphoreStore()],
  // The store bench:semaphore -- --scale serves to its processes: its answers must be these too.
  ['in-memory over the bench socket', () => (remote = new SocketSemaphoreStore(server.url))],
];

describe.each(stores)('%s store', (_label, makeStore) => {
  let store: SemaphoreStore;
  let name: string;
  const now = 1_000_000_000_000;
  const slot = async (): Promise<SlotRecord | undefined> =>
    (await store.listSlots(name)).find((r) => r.slot === 0);
  const claim = (
    owner: string,
    at: number,
    extra: { callStartedAt?: number; seenFree?: boolean } = {},
  ) =>
    store.claim(
      name,
      0,
      { owner, pool: 'batch', now: at, leaseUntil: at + 15_000, ...extra },
      cutoffsAt(at),
    );

  beforeAll(() => {
    store = makeStore();
  });
  const fresh = () => {
    name = uniqueName('contract');
  };

  it('claims a free slot once: another owner is refused while the lease lives', async () => {
    fresh();
    expect(await claim('a', now)).toBe(true);
    expect(await claim('b', now + 1_000)).toBe(false);
    expect((await slot())?.owner).toBe('a');
    // The same owner again (an SDK retry of a claim that landed) is not refused.
    expect(await claim('a', now + 1_000)).toBe(true);
  });

  it('lets a claim take over an expired lease with no call, only past the skew margin', async () => {
    fresh();
    await claim('dead', now);
    const leaseEnd = now + 15_000;
    expect(await claim('b', leaseEnd + skew)).toBe(false);
    expect(await claim('b', leaseEnd + skew + 1)).toBe(true);
    expect((await slot())?.owner).toBe('b');
  });

  it('keeps an expired lease with a recorded call until call start + bound + skew', async () => {
    fresh();
    await claim('dead', now, { callStartedAt: now + 7_500 });
    expect(await claim('b', now + 60_000)).toBe(false);
    expect(await claim('b', now + 7_500 + bound + skew)).toBe(false);
    expect(await claim('b', now + 7_500 + bound + skew + 1)).toBe(true);
  });

  it('takes a slot seen free only while it has no holder: never a takeover, but an SDK retry', async () => {
    fresh();
    expect(await claim('a', now, { seenFree: true })).toBe(true);
    // The same owner again: a retry of the claim that landed.
    expect(await claim('a', now + 1, { seenFree: true })).toBe(true);
    expect(await claim('b', now + 1_000, { seenFree: true })).toBe(false);
    // An expired lease the full condition would take over is refused: seenFree is only for a
    // view less than a lease old (grant-loop.ts), where anyone who took the slot since is live.
    const past = now + 1 + 15_000 + skew + 1;
    expect(await claim('b', past, { seenFree: true })).toBe(false);
    expect((await slot())?.owner).toBe('a');
    expect(await claim('b', past)).toBe(true);
    // Released, then fenced: the fence still voids a claim sent before it.
    expect(await store.release(name, 0, 'b', past + 10)).toBe(true);
    expect(await claim('c', past + 10, { seenFree: true })).toBe(false);
    expect(await claim('c', past + 11, { seenFree: true })).toBe(true);
  });

  it('renews only for the owner, moving the lease and the call cover', async () => {
    fresh();
    await claim('a', now);
    expect(await store.renew(name, 0, 'b', now + 99_999, now + 99_999)).toBe(false);
    expect((await slot())?.leaseUntil).toBe(now + 15_000);
    expect(await store.renew(name, 0, 'a', now + 20_000, now + 12_000)).toBe(true);
    const after = await slot();
    expect(after?.leaseUntil).toBe(now + 20_000);
    expect(after?.callStartedAt).toBe(now + 12_000);
    // A renewal of a free slot takes nothing.
    fresh();
    expect(await store.renew(name, 0, 'a', now + 20_000)).toBe(false);
    expect((await slot())?.owner).toBeUndefined();
  });

  it('releases only for the owner: a holder that lost its slot cannot free the new owner', async () => {
    fresh();
    await claim('old', now);
    await store.forceRelease(name, 0, null);
    await claim('new', now + 1);
    expect(await store.release(name, 0, 'old')).toBe(false);
    expect((await slot())?.owner).toBe('new');
    expect(await store.release(name, 0, 'new')).toBe(true);
    expect((await slot())?.owner).toBeUndefined();
    // Already free counts as released (an SDK retry of a release that landed).
    expect(await store.release(name, 0, 'new')).toBe(true);
  });

  it('refuses a renewal that would lower the lease or the cover (a late-landing older one)', async () => {
    fresh();
    await claim('a', now, { callStartedAt: now + 7_500 });
    expect(await store.renew(name, 0, 'a', now + 20_000, now + 12_000)).toBe(true);
    // The older renewal, sent before but landing after:
    expect(await store.renew(name, 0, 'a', now + 18_000, now + 10_500)).toBe(false);
    expect(await store.renew(name, 0, 'a', now + 18_000)).toBe(false);
    const after = await slot();
    expect(after?.leaseUntil).toBe(now + 20_000);
    expect(after?.callStartedAt).toBe(now + 12_000);
  });

  it('voids, with a fenced release, a claim sent before it that lands after it', async () => {
    fresh();
    // The claim sent at `now` timed out; its clean-up release goes first, fenced at `now`.
    expect(await store.release(name, 0, 'lost-claim', now)).toBe(true);
    expect(await claim('lost-claim', now)).toBe(false);
    expect((await slot())?.owner).toBeUndefined();
    // Claims sent after the fence are not affected.
    expect(await claim('b', now + 1)).toBe(true);
  });

  it('fences on its own, while another holds the slot, and never lowers a fence', async () => {
    fresh();
    await claim('holder', now);
    await store.fence(name, 0, now + 10);
    await store.fence(name, 0, now + 5); // lower: no effect
    expect((await slot())?.owner).toBe('holder');
    expect(await store.release(name, 0, 'holder')).toBe(true);
    // The claim sent at now + 10 that lands after the holder left is refused; a later one is not.
    expect(await claim('stale', now + 10)).toBe(false);
    expect(await claim('b', now + 11)).toBe(true);
  });

  it('force-releases a live holder only without cutoffs (the operator override)', async () => {
    fresh();
    await claim('a', now, { callStartedAt: now });
    expect(await store.forceRelease(name, 0, cutoffsAt(now + 60_000))).toBe(false);
    expect((await slot())?.owner).toBe('a');
    expect(await store.forceRelease(name, 0, cutoffsAt(now + bound + skew + 1))).toBe(true);
    expect((await slot())?.owner).toBeUndefined();
    await claim('b', now);
    expect(await store.forceRelease(name, 0, null)).toBe(true);
    expect((await slot())?.owner).toBeUndefined();
  });
});
