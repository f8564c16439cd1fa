/**
 * A SemaphoreStore in front of another that adds network latency, as DynamoDB in-region has
 * (a few ms, jittered), and counts reads and writes. dynalite answers in well under a
 * millisecond on this machine, which would hide what each extra round trip costs.
 */
import type { SemaphoreStore } from '../../src/shared/semaphore/index.js';

/** Reads and writes a store served. */
export interface StoreCounts {
  reads: number;
  writes: number;
}

/** Wraps `store`: each request waits `medianMs` × a jitter in [0.5, 1.5) before going out. */
export function withLatency(
  store: SemaphoreStore,
  medianMs: number,
  random: () => number = Math.random,
): { store: SemaphoreStore; counts: StoreCounts } {
  const counts: StoreCounts = { reads: 0, writes: 0 };
  const delay = () =>
    medianMs > 0
      ? new Promise<void>((r) => setTimeout(r, medianMs * (0.5 + random())))
      : Promise.resolve();
  const wrap =
    <A extends unknown[], R>(kind: keyof StoreCounts, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      counts[kind]++;
      await delay();
      return call(...args);
    };
  return {
    counts,
    store: {
      listSlots: wrap('reads', store.listSlots.bind(store)),
      claim: wrap('writes', store.claim.bind(store)),
      renew: wrap('writes', store.renew.bind(store)),
      release: wrap('writes', store.release.bind(store)),
      fence: wrap('writes', store.fence.bind(store)),
      forceRelease: wrap('writes', store.forceRelease.bind(store)),
    },
  };
}
