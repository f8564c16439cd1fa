/**
 * A hand-over waits for the call-start write (behind a renewal in flight); a waiter aborted
 * meanwhile (parked, shut down) must not keep the slot: nobody would ever release that lease.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SemaphoreStore } from '../../../src/shared/semaphore/index.js';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let env: SemaphoreEnv;
beforeEach(async () => {
  env = await semaphoreEnv();
});
afterEach(async () => {
  await env.close();
});

it('gives the slot on when its waiter was aborted while the hand-over waited on a renewal', async () => {
  let slowRenew = false;
  const store: SemaphoreStore = Object.create(env.store) as SemaphoreStore;
  store.renew = async (...args: Parameters<SemaphoreStore['renew']>) => {
    if (slowRenew) await sleep(300); // slow DynamoDB for this one write
    return env.store.renew(...args);
  };
  const sem = env.make({
    capacity: 1,
    hints: false,
    store,
    leaseMs: 1_500,
    stediTimeoutMs: 1_500,
    skewMarginMs: 100,
    fallbackCheckMs: 200,
  });
  const holder = await sem.acquire({ pool: 'batch', markCallStart: true });
  const parking = new AbortController();
  const waiter = sem.acquire({ pool: 'batch', markCallStart: true, signal: parking.signal });
  waiter.catch(() => undefined);
  await sleep(50);

  slowRenew = true;
  void holder.renewNow().catch(() => undefined); // the slot's periodic renewal, in flight
  await sleep(10);
  const finishing = holder.release(); // hand-over to `waiter`, which waits for the renewal
  await sleep(50);
  parking.abort(); // process-check's watch decides to park the check
  await expect(waiter).rejects.toThrow(); // the check is parked...
  await finishing; // the finishing holder does not wait for the hand-over's write
  slowRenew = false;

  // ...and once the hand-over's write is done, its slot is released, so the next acquirer gets
  // it at once.
  await vi.waitFor(() => expect(sem.backgroundTasks).toBe(0), { timeout: 1_000 });
  expect(sem.heldSlots()).toEqual([]);
  const next = await sem.acquire({ pool: 'batch', timeoutMs: 1_500 });
  expect(next.slot).toBe(0);
  await next.release();
}, 10_000);
