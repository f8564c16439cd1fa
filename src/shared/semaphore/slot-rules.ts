/**
 * The pure rules of the semaphore: which slots a pool may use and when a held slot may be taken
 * over. Kept free of I/O and clocks so lease arithmetic is tested without waiting.
 *
 * Slots 0 .. L-R-1 are shared (batch or realtime); slots L-R .. L-1 are reserved for realtime.
 * Because batch can only ever claim a shared slot, batch holders never exceed L - R, with no
 * counter to keep in step.
 */
import type { Pool, ReclaimCutoffs, SlotRecord } from './types.js';

/** Timing parameters the reclaim rule depends on, all in ms. */
export interface ReclaimTiming {
  /** Stedi's bound on one request: an in-call slot stays taken until call start + this. */
  readonly stediTimeoutMs: number;
  /**
   * Largest clock difference tolerated between two workers. Lease times are written with the
   * holder's clock and read with the acquirer's, so a takeover waits this much longer.
   */
  readonly skewMarginMs: number;
}

/** Number of slots batch may use. */
export function sharedSlotCount(capacity: number, realtimeReserved: number): number {
  return capacity - realtimeReserved;
}

/** True when a holder of `pool` may use `slot`. */
export function poolMayUse(
  pool: Pool,
  slot: number,
  capacity: number,
  realtimeReserved: number,
): boolean {
  if (slot < 0 || slot >= capacity) return false;
  return pool === 'realtime' || slot < sharedSlotCount(capacity, realtimeReserved);
}

/**
 * Slots in the order a pool should try them: realtime takes reserved slots first so it leaves
 * shared ones to batch; batch only sees shared slots. Each process starts at its own `offset`
 * (taken modulo each range): processes that all tried slot 0 first would collide on every claim
 * when they start or wake together, and with hundreds of slots those collisions cost rounds.
 */
export function slotPreference(
  pool: Pool,
  capacity: number,
  realtimeReserved: number,
  offset = 0,
): number[] {
  const shared = sharedSlotCount(capacity, realtimeReserved);
  const rotate = (length: number, base: number) =>
    Array.from({ length }, (_, i) => base + ((i + offset) % length));
  const sharedSlots = rotate(shared, 0);
  if (pool === 'batch') return sharedSlots;
  return [...rotate(realtimeReserved, shared), ...sharedSlots];
}

/** Cut-offs for a takeover decided at `now` (acquirer's clock). */
export function reclaimCutoffs(now: number, timing: ReclaimTiming): ReclaimCutoffs {
  return {
    leaseEndedBefore: now - timing.skewMarginMs,
    callStartedBefore: now - timing.stediTimeoutMs - timing.skewMarginMs,
  };
}

/** True when the slot is free, or its holder's lease and (if any) its Stedi call are over. */
export function isClaimable(record: SlotRecord | undefined, cutoffs: ReclaimCutoffs): boolean {
  if (record?.owner === undefined) return true;
  const leaseOver = (record.leaseUntil ?? 0) < cutoffs.leaseEndedBefore;
  const callOver =
    record.callStartedAt === undefined || record.callStartedAt < cutoffs.callStartedBefore;
  return leaseOver && callOver;
}

/** The earliest instant (acquirer's clock) at which a held slot becomes claimable if not renewed. */
export function claimableAt(record: SlotRecord, timing: ReclaimTiming): number {
  if (record.owner === undefined) return -Infinity;
  const afterLease = (record.leaseUntil ?? 0) + timing.skewMarginMs + 1;
  const afterCall =
    record.callStartedAt === undefined
      ? -Infinity
      : record.callStartedAt + timing.stediTimeoutMs + timing.skewMarginMs + 1;
  return Math.max(afterLease, afterCall);
}
