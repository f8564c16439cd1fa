/** Read-only view of a semaphore's holders, for the API, metrics and the operator CLI. */
import { claimableAt, poolMayUse, type ReclaimTiming } from './slot-rules.js';
import type { Pool, SemaphoreStore } from './types.js';

/** One held slot as an operator sees it; durations in ms. */
export interface HolderView {
  readonly slot: number;
  /** Reserved slots serve realtime only; shared slots serve both pools. */
  readonly slotKind: 'shared' | 'reserved';
  readonly pool: Pool | undefined;
  readonly owner: string;
  readonly ageMs: number | undefined;
  /** Negative once the lease has expired. */
  readonly leaseExpiresInMs: number | undefined;
  readonly callStartedAt: number | undefined;
  /** How long until another holder may take the slot if this holder stops renewing. */
  readonly claimableInMs: number;
  /** True when the slot is past its lease (and Stedi bound) and any acquirer may take it. */
  readonly reclaimable: boolean;
  /** True when the slot number is outside the current allocation (after lowering L). */
  readonly outsideAllocation: boolean;
}

/** The whole semaphore at one instant. */
export interface SemaphoreStatus {
  readonly name: string;
  readonly capacity: number;
  /** Slots kept for realtime while it needs them (lent to batch otherwise). */
  readonly realtimeReserved: number;
  /** Slots never lent to batch. */
  readonly realtimeFloor: number;
  readonly holders: readonly HolderView[];
  readonly heldByPool: Readonly<Record<Pool, number>>;
  readonly free: number;
}

/** Parameters inspection needs besides the store. */
export interface InspectParams extends ReclaimTiming {
  readonly name: string;
  readonly capacity: number;
  readonly realtimeReserved: number;
  /** Slots batch never claims. @defaultValue realtimeReserved */
  readonly realtimeFloor?: number;
  readonly now?: () => number;
}

/** Reads every slot and describes the holders. */
export async function inspectSemaphore(
  store: SemaphoreStore,
  params: InspectParams,
): Promise<SemaphoreStatus> {
  const records = await store.listSlots(params.name);
  const now = (params.now ?? Date.now)();
  const floor = params.realtimeFloor ?? params.realtimeReserved;
  const holders: HolderView[] = [];
  for (const r of records) {
    if (r.owner === undefined) continue;
    const reclaimAt = claimableAt(r, params);
    holders.push({
      slot: r.slot,
      slotKind: poolMayUse('batch', r.slot, params.capacity, floor) ? 'shared' : 'reserved',
      pool: r.pool,
      owner: r.owner,
      ageMs: r.acquiredAt === undefined ? undefined : now - r.acquiredAt,
      leaseExpiresInMs: r.leaseUntil === undefined ? undefined : r.leaseUntil - now,
      callStartedAt: r.callStartedAt,
      claimableInMs: Math.max(0, reclaimAt - now),
      reclaimable: reclaimAt <= now,
      outsideAllocation: r.slot >= params.capacity,
    });
  }
  holders.sort((a, b) => a.slot - b.slot);
  const live = holders.filter((h) => !h.reclaimable && !h.outsideAllocation);
  return {
    name: params.name,
    capacity: params.capacity,
    realtimeReserved: params.realtimeReserved,
    realtimeFloor: floor,
    holders,
    heldByPool: {
      realtime: live.filter((h) => h.pool === 'realtime').length,
      batch: live.filter((h) => h.pool === 'batch').length,
    },
    free: params.capacity - live.length,
  };
}
