/**
 * The local waiters of one semaphore: realtime first, then FIFO within each pool. A waiter is
 * `claiming` while a claim write for it is in flight, so no second slot is claimed for it.
 */
import type { SlotLease } from './slot-lease.js';
import type { Pool } from './types.js';

/** What the semaphore asks of a waiter's scheduling keys. */
export interface WaiterAdmission {
  /** True when the waiter may be given a slot now. */
  mayStart(): boolean;
  /** The waiter was picked for a slot: count it at once; returns an undo for a lost claim. */
  reserve(): () => void;
}

/** One pending acquire. */
export interface Waiter {
  readonly pool: Pool;
  readonly markCallStart: boolean;
  readonly admission: WaiterAdmission | undefined;
  readonly enqueuedAt: number;
  /** Resolved, rejected or aborted: nothing may be granted to it any more. */
  settled: boolean;
  /** A claim for it is in flight. */
  claiming: boolean;
  resolve(lease: SlotLease): void;
  reject(err: Error): void;
}

/** True when the waiter's payer and tenant limits let it start now. */
export function isEligible(w: Waiter): boolean {
  return w.admission?.mayStart() ?? true;
}

/** Waiters by pool, in the order they are served. */
export class WaiterQueue {
  private readonly lists: Record<Pool, Waiter[]> = { realtime: [], batch: [] };

  add(w: Waiter): void {
    this.lists[w.pool].push(w);
  }

  /** Removes `w`; a no-op when it is gone already. */
  remove(w: Waiter): void {
    const list = this.lists[w.pool];
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
  }

  /** Every waiter, realtime first (a copy: serving one may remove it). */
  ordered(): Waiter[] {
    return [...this.lists.realtime, ...this.lists.batch];
  }

  /** The first waiter of `pool` that may start now and has no claim in flight. */
  firstEligible(pool: Pool): Waiter | undefined {
    return this.lists[pool].find((w) => !w.claiming && isEligible(w));
  }

  count(pool: Pool): number {
    return this.lists[pool].length;
  }

  get empty(): boolean {
    return this.lists.realtime.length + this.lists.batch.length === 0;
  }

  /** Rejects every waiter with `err`. */
  rejectAll(err: Error): void {
    for (const w of this.ordered()) w.reject(err);
  }
}
