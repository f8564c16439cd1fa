/**
 * What /admin/status shows, read fresh on each request: every slot of the allocation (from the
 * semaphore's own inspection, labelled with the payer and tenant workers noted for its call),
 * payer breakers, tenants, the limits in force, checks waiting by priority and recent throughput.
 * Payer ids, API key names, check ids, counts and times only: no patient data.
 */
import type { Redis } from 'ioredis';
import type { CheckQueues } from '../../shared/check-queues.js';
import type { Priority } from '../../shared/queues.js';
import type { EffectiveLimits } from '../../shared/scheduling/limits.js';
import type {
  PayerStateView,
  SchedulingStateView,
  TenantStateView,
} from '../../shared/scheduling/state-view.js';
import type { Pool, SemaphoreStatus } from '../../shared/semaphore/index.js';
import type { SlotNotes } from '../../shared/status/slot-notes.js';

/**
 * One slot: `free`; `in call` (a worker noted the call running on it); `held` (taken, no call
 * noted: between two calls, or just claimed); `reclaimable` (its holder stopped renewing and its
 * Stedi bound has passed: any worker may take it); `outside allocation` (held above a lowered L).
 */
export interface SlotRow {
  readonly slot: number;
  readonly state: 'free' | 'in call' | 'held' | 'reclaimable' | 'outside allocation';
  /** Reserved slots serve realtime only (the floor); known for held slots. */
  readonly slotKind?: 'shared' | 'reserved';
  readonly pool?: Pool;
  readonly payer?: string;
  readonly tenant?: string;
  readonly checkId?: string;
  /** How long the call on it has run. */
  readonly callAgeMs?: number;
  /** How long its holder has held it. */
  readonly heldForMs?: number;
  /** Until another worker may take it should its holder stop renewing (0 once reclaimable). */
  readonly reclaimableInMs?: number;
}

/** Checks of one priority. */
export interface QueueRow {
  readonly priority: Priority;
  /** Ready to run (BullMQ's waiting and prioritized). */
  readonly waiting: number;
  /** Parked, backing off before a retry, or throttled. */
  readonly delayed: number;
  /** Taken by a worker: waiting for a slot or calling. */
  readonly active: number;
  readonly completedLastMinute: number;
  readonly failedLastMinute: number;
  readonly completedLast15Minutes: number;
  readonly failedLast15Minutes: number;
}

/** The whole page's data. */
export interface StatusView {
  readonly at: string;
  readonly allocation: {
    readonly semaphore: string;
    readonly capacity: number;
    readonly realtimeReserved: number;
    readonly realtimeFloor: number;
    readonly inUse: number;
    readonly inUseByPool: Readonly<Record<Pool, number>>;
    readonly free: number;
  };
  readonly slots: readonly SlotRow[];
  readonly payers: readonly PayerStateView[];
  readonly tenants: readonly TenantStateView[];
  readonly limits: EffectiveLimits;
  readonly queues: readonly QueueRow[];
}

/** Where the page's data comes from. */
export interface StatusSources {
  readonly semaphoreStatus: () => Promise<SemaphoreStatus>;
  readonly schedulingState: () => Promise<SchedulingStateView>;
  readonly currentLimits: () => EffectiveLimits;
  readonly queues: CheckQueues;
  readonly redis: Redis;
  readonly slotNotes: SlotNotes;
  readonly now?: () => number;
}

/** Reads the status now. */
export async function readStatus(src: StatusSources): Promise<StatusView> {
  const now = (src.now ?? Date.now)();
  const [semaphore, state, queues] = await Promise.all([
    src.semaphoreStatus(),
    src.schedulingState(),
    readQueues(src, now),
  ]);
  const slotNumbers = [
    ...new Set([
      ...Array.from({ length: semaphore.capacity }, (_, i) => i),
      ...semaphore.holders.map((h) => h.slot),
    ]),
  ].sort((a, b) => a - b);
  // Only a held slot can be in a call: free slots' notes are never shown.
  const notes = await src.slotNotes.read(semaphore.holders.map((h) => h.slot));
  const holders = new Map(semaphore.holders.map((h) => [h.slot, h]));
  const slots = slotNumbers.map((slot): SlotRow => {
    const h = holders.get(slot);
    if (!h) return { slot, state: 'free' };
    // A note labels the slot only while the lease it was written under still holds it.
    const note = notes.get(slot);
    const call = note && note.owner === h.owner ? note : undefined;
    const state = h.outsideAllocation
      ? 'outside allocation'
      : h.reclaimable
        ? 'reclaimable'
        : call
          ? 'in call'
          : 'held';
    return {
      slot,
      state,
      slotKind: h.slotKind,
      ...(h.pool ? { pool: h.pool } : {}),
      ...(call ? { payer: call.payer, tenant: call.tenant, checkId: call.checkId } : {}),
      ...(call ? { callAgeMs: Math.max(0, now - call.callStartedAt) } : {}),
      ...(h.ageMs !== undefined ? { heldForMs: h.ageMs } : {}),
      reclaimableInMs: h.claimableInMs,
    };
  });
  const inUse = semaphore.heldByPool.realtime + semaphore.heldByPool.batch;
  return {
    at: new Date(now).toISOString(),
    allocation: {
      semaphore: semaphore.name,
      capacity: semaphore.capacity,
      realtimeReserved: semaphore.realtimeReserved,
      realtimeFloor: semaphore.realtimeFloor,
      inUse,
      inUseByPool: semaphore.heldByPool,
      free: semaphore.free,
    },
    slots,
    payers: state.payers,
    tenants: state.tenants,
    limits: src.currentLimits(),
    queues,
  };
}

async function readQueues(src: StatusSources, now: number): Promise<QueueRow[]> {
  return Promise.all(
    (Object.keys(src.queues.queues) as Priority[]).map(async (priority): Promise<QueueRow> => {
      const queue = src.queues.queues[priority];
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      // Finished sets are scored by finish time: counting a window is exact, whatever the
      // retention removes (it removes only old entries).
      const finished = (set: string | undefined, ms: number) =>
        set ? src.redis.zcount(set, now - ms, '+inf') : Promise.resolve(0);
      const { completed, failed } = queue.keys;
      const [c1, f1, c15, f15] = await Promise.all([
        finished(completed, 60_000),
        finished(failed, 60_000),
        finished(completed, 15 * 60_000),
        finished(failed, 15 * 60_000),
      ]);
      return {
        priority,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        delayed: counts.delayed ?? 0,
        active: counts.active ?? 0,
        completedLastMinute: c1,
        failedLastMinute: f1,
        completedLast15Minutes: c15,
        failedLast15Minutes: f15,
      };
    }),
  );
}
