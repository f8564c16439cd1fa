/**
 * Processes that start together search disjoint runs of slots (their rank among the processes
 * waiting for batch), so the start-up fill costs one claim per slot: with a common starting
 * point every process walked the same slots and half the claims were lost to another's.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import {
  Semaphore,
  type HintChannel,
  type SlotLease,
} from '../../../src/shared/semaphore/index.js';
import type { ReleaseHint } from '../../../src/shared/semaphore/types.js';
import { MemorySemaphoreStore } from '../../support/memory-semaphore-store.js';

/** Pub/sub in memory: every subscriber gets each hint on a later tick, as over Redis. */
class MemoryHints implements HintChannel {
  private readonly subscribers = new Set<(hint: ReleaseHint) => void>();
  async publish(_name: string, hint: ReleaseHint): Promise<void> {
    for (const s of this.subscribers) setTimeout(() => s(hint), 1);
  }
  async subscribe(_name: string, onHint: (hint: ReleaseHint) => void) {
    this.subscribers.add(onHint);
    return async () => {
      this.subscribers.delete(onHint);
    };
  }
}

let made: Semaphore[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  made = [];
});
afterEach(async () => {
  const closing = Promise.allSettled(made.map((s) => s.close()));
  await vi.advanceTimersByTimeAsync(30_000);
  await closing;
  vi.useRealTimers();
});

it('fills L = 15 over three processes with one claim per slot, five slots each', async () => {
  const store = new MemorySemaphoreStore();
  store.latencyMs = 5;
  const hints = new MemoryHints();
  const processes = Array.from({ length: 3 }, () => {
    const sem = new Semaphore({
      store,
      hints,
      name: 'acct',
      capacity: 15,
      leaseMs: 15_000,
      stediTimeoutMs: 90_000,
      fallbackCheckMs: 500,
      now: () => Date.now(),
      // The same random starting point for all: the worst case the spread must undo.
      random: () => 0.5,
    });
    made.push(sem);
    return sem;
  });
  await Promise.all(processes.map((s) => s.start()));
  const leases: SlotLease[] = [];
  for (const sem of processes)
    for (let i = 0; i < 15; i++)
      // The ten a process does not get are refused when it closes.
      sem.acquire({ pool: 'batch', markCallStart: true }).then(
        (l) => leases.push(l),
        () => undefined,
      );
  for (let t = 0; t < 2_000 && leases.length < 15; t += 5) await vi.advanceTimersByTimeAsync(5);

  expect(leases).toHaveLength(15);
  expect(processes.map((s) => s.heldSlots().length)).toEqual([5, 5, 5]);
  expect(store.requests.claim).toBe(15);
});
