/**
 * The grant loop: one per process, serving every local waiter (realtime first, then FIFO).
 *
 * A round reads the slots once (cached until something invalidates it), picks for each waiter
 * a slot the cached view says is claimable, and starts the claim writes; it does not wait for
 * them, so one hung DynamoDB request holds one waiter, not the process. A finished claim pumps
 * again. Between rounds the loop sleeps until a release hint, the moment a known lease or call
 * bound runs out, or a jittered fallback check, whichever is first. Store errors fail closed and
 * nothing is granted that could not be recorded: a failed claim refuses its waiter, a failed
 * read (no view to grant from) refuses them all.
 *
 * Hand-over: a finishing holder's slot goes to a local waiter with no claim write; the call-start
 * write the waiter may need runs in the background, so the finishing holder never waits on it.
 */
import { AcquireAbortedError } from '../errors/acquire-aborted-error.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { Demand } from './demand.js';
import { asStoreError, type LeaseKeeper } from './lease-keeper.js';
import { SlotLease, type HeldSlot, type LeaseHost } from './slot-lease.js';
import {
  claimableAt,
  isClaimable,
  poolMayUse,
  reclaimCutoffs,
  slotPreference,
  type ReclaimTiming,
} from './slot-rules.js';
import type { Pool, ReclaimCutoffs, SemaphoreStore, SlotRecord } from './types.js';
import { isEligible, type Waiter, type WaiterQueue } from './waiter-queue.js';

/** What the grant loop needs from its semaphore. */
export interface LoopHost {
  readonly name: string;
  readonly capacity: number;
  readonly leaseMs: number;
  readonly coverAheadMs: number;
  readonly fallbackCheckMs: number;
  readonly handOver: boolean;
  readonly maxClaimsInFlight: number;
  readonly timing: ReclaimTiming;
  /** The store, every request bounded by a deadline. */
  readonly store: SemaphoreStore;
  readonly keeper: LeaseKeeper;
  readonly demand: Demand;
  readonly waiters: WaiterQueue;
  readonly tasks: BackgroundTasks;
  readonly leaseHost: LeaseHost;
  readonly closed: boolean;
  now(): number;
  random(): number;
  newOwner(): string;
  report(err: Error): void;
  acquired(e: { pool: Pool; slot: number; waitedMs: number; handedOver: boolean }): void;
}

/** Grants slots to local waiters: claims, hand-overs, and the wake-up schedule between them. */
export class GrantLoop {
  private view = new Map<number, SlotRecord>();
  private viewLoaded = false;
  /** When the view was read (this process's clock). */
  private viewReadAt = -Infinity;
  /** Slots a release hint showed free since the read, with when. */
  private readonly freedAt = new Map<number, number>();
  private pumping = false;
  private pumpAgain = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeDueAt = Infinity;
  /** Slots with a claim write in flight. */
  private readonly claiming = new Set<number>();
  /** Where this process starts looking for a free slot while alone (see slotPreference). */
  private readonly offset: number;

  constructor(private readonly host: LoopHost) {
    this.offset = Math.floor(host.random() * host.capacity);
  }

  /** Runs a grant round now, or right after the one running. */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.host.waiters.empty || this.host.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.round();
        } while (this.pumpAgain && !this.host.waiters.empty && !this.host.closed);
      } catch (err) {
        this.host.report(err instanceof Error ? err : new Error(String(err)));
      } finally {
        this.pumping = false;
        this.scheduleWake();
      }
    })();
  }

  /** Re-reads the slots at the next round. */
  invalidate(): void {
    this.viewLoaded = false;
  }

  /** A slot was released (ours, or a hint from elsewhere): the view shows it free. */
  forget(slot: number): void {
    if (this.host.keeper.has(slot) || this.claiming.has(slot)) return;
    this.view.delete(slot);
    this.freedAt.set(slot, this.host.now());
  }

  /** One round now, with a fresh read; resolves when it is done. */
  async checkNow(): Promise<void> {
    this.viewLoaded = false;
    this.pump();
    while (this.pumping) await new Promise((r) => setImmediate(r));
  }

  /** Stops the wake timer (close). */
  stop(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** Slots the cached view shows idle (claimable, not ours, no claim in flight). */
  idleInView(): number {
    const cutoffs = reclaimCutoffs(this.host.now(), this.host.timing);
    let idle = 0;
    for (let slot = 0; slot < this.host.capacity; slot++)
      if (
        !this.host.keeper.has(slot) &&
        !this.claiming.has(slot) &&
        isClaimable(this.view.get(slot), cutoffs)
      )
        idle++;
    return idle;
  }

  /**
   * A holder finished with `held`: hand it to a local waiter (no store write in the finishing
   * holder's path) or release it.
   */
  async finish(held: HeldSlot): Promise<void> {
    const next =
      this.host.handOver && !this.host.closed && held.state === 'held'
        ? this.nextWaiterFor(held.slot)
        : undefined;
    if (next) {
      // Picked synchronously (grant removes it before any await), written in the background.
      this.host.tasks.run(`handing slot ${held.slot} over`, () => this.grant(next, held, true));
      return;
    }
    await this.host.keeper.release(held);
  }

  /** The first local waiter that may take `slot` now, reserved for it; undefined if none. */
  private nextWaiterFor(slot: number): Waiter | undefined {
    const { capacity } = this.host;
    const { demand, waiters, keeper } = this.host;
    for (const pool of ['realtime', 'batch'] as const) {
      if (!poolMayUse(pool, slot, capacity, demand.reserved)) continue;
      // Handing over keeps our share as it is: allowed up to the fair share, not beyond; and a
      // headroom owed to realtime is refilled before batch gets the slot again.
      if (
        pool === 'batch' &&
        (demand.batchYielding() ||
          keeper.size > demand.fairShare() ||
          demand.refillsOwed > 0 ||
          (demand.headroom > 0 && this.idleInView() < demand.headroom))
      )
        continue;
      const w = waiters.firstEligible(pool);
      if (w) {
        w.admission?.reserve();
        return w;
      }
    }
    return undefined;
  }

  /** Picks a claimable slot for each waiter the cached view can serve and starts the claims. */
  private async round(): Promise<void> {
    const { host } = this;
    if (!this.viewLoaded) {
      try {
        await this.refreshView();
      } catch (err) {
        this.failWaiters(asStoreError(err, 'listSlots'));
        return;
      }
    }
    const { capacity, demand } = host;
    const cutoffs = reclaimCutoffs(host.now(), host.timing);
    const taken = new Set<number>([...host.keeper.slots(), ...this.claiming]);
    let realtimeUnserved = false;
    let batchUnserved = false;
    const yielding = demand.batchYielding();
    const share = demand.fairShare();
    let idle = this.idleInView();
    const offset = demand.spreadOffset() ?? this.offset;
    for (const waiter of host.waiters.ordered()) {
      if (waiter.claiming || waiter.settled || !isEligible(waiter)) continue;
      if (waiter.pool === 'batch') {
        // Fair share across processes; lending: batch leaves `headroom` idle slots for realtime.
        // And a bounded number of batch claims in flight: a process with many waiters (starting,
        // or after a store hiccup) would otherwise send them all at once to one DynamoDB
        // partition, where they collide with every other process's; the rest follow as these
        // land. Realtime is never held behind them.
        if (
          yielding ||
          taken.size >= share ||
          idle - 1 < demand.headroom ||
          this.claiming.size >= host.maxClaimsInFlight
        ) {
          batchUnserved = true;
          continue;
        }
      }
      const slot = slotPreference(waiter.pool, capacity, demand.reserved, offset).find(
        (s) => !taken.has(s) && isClaimable(this.view.get(s), cutoffs),
      );
      if (slot === undefined) {
        if (waiter.pool === 'realtime') realtimeUnserved = true;
        else batchUnserved = true;
        continue;
      }
      taken.add(slot);
      idle--;
      // A realtime claim leaving fewer idle than the headroom asks for a refill once it landed.
      const refill = waiter.pool === 'realtime' && idle < demand.headroom;
      const undo = waiter.admission?.reserve();
      waiter.claiming = true;
      this.claiming.add(slot);
      host.tasks.run(`claiming slot ${slot}`, async () => {
        try {
          await this.claimFor(waiter, slot, cutoffs, undo, refill);
        } finally {
          waiter.claiming = false;
          this.claiming.delete(slot);
          this.pump();
        }
      });
    }
    if (realtimeUnserved) demand.announce('realtime');
    else if (batchUnserved) demand.announce('batch');
  }

  private async claimFor(
    waiter: Waiter,
    slot: number,
    cutoffs: ReclaimCutoffs,
    undoPick: (() => void) | undefined,
    refill: boolean,
  ): Promise<void> {
    const { host } = this;
    const now = host.now();
    const owner = host.newOwner();
    const leaseUntil = now + host.leaseMs;
    const callStartedAt = waiter.markCallStart ? now + host.coverAheadMs : undefined;
    const seenFree = this.seenFreeWithinLease(slot, now);
    let ok: boolean;
    try {
      ok = await host.store.claim(
        host.name,
        slot,
        {
          owner,
          pool: waiter.pool,
          now,
          leaseUntil,
          ...(callStartedAt !== undefined ? { callStartedAt } : {}),
          ...(seenFree ? { seenFree } : {}),
        },
        cutoffs,
      );
    } catch (err) {
      // Fail closed for this waiter. The write may still land: give it back so it does not sit
      // until expiry. The other waiters keep waiting: refusing them all made every waiter of a
      // busy process claim again at once, so one slow write under load became thirty.
      undoPick?.();
      this.viewLoaded = false;
      host.keeper.releaseUnknown(slot, owner, {
        now,
        leaseUntil,
        ...(callStartedAt !== undefined ? { cover: callStartedAt } : {}),
      });
      const storeErr = asStoreError(err, 'claim');
      host.report(storeErr);
      waiter.reject(storeErr);
      return;
    }
    if (!ok) {
      undoPick?.();
      // Someone else holds it with a live lease: note that, and look at the other slots.
      this.view.set(slot, { slot, owner: '(other)', leaseUntil: host.now() + host.leaseMs });
      return;
    }
    const held = host.keeper.adopt(slot, owner, leaseUntil, callStartedAt);
    this.view.set(slot, { slot, owner, pool: waiter.pool, acquiredAt: now, leaseUntil });
    if (refill) host.demand.announceRefill();
    if (waiter.settled || host.closed) {
      // The waiter gave up while we claimed: serve another one, or give the slot back.
      const other = host.closed ? undefined : this.nextWaiterFor(slot);
      if (other) await this.grant(other, held, false);
      else await host.keeper.release(held);
      return;
    }
    await this.grant(waiter, held, false);
  }

  /**
   * Gives `held` to `waiter`. Before it resolves, the slot is made usable: a lease that came back
   * within the skew margin of its end is renewed, and a waiter that calls at once gets a cover
   * that reaches past now + skew (written if the claim's came back late, or a hand-over's holder
   * had none).
   */
  private async grant(waiter: Waiter, held: HeldSlot, handedOver: boolean): Promise<void> {
    const { host } = this;
    const lease = new SlotLease(host.leaseHost, held, waiter.pool, host.now(), handedOver);
    held.current = lease;
    // Remove the waiter before any await, so no second slot is granted to it meanwhile.
    host.waiters.remove(waiter);
    try {
      if (waiter.markCallStart) await host.keeper.markCallStart(held);
      else await host.keeper.ensureLease(held);
    } catch (err) {
      if (held.current === lease) held.current = undefined;
      if (!held.lost) await host.keeper.release(held);
      waiter.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (waiter.settled || held.current !== lease) {
      // Aborted (parked, shut down, timed out) while the slot was being made usable: nobody
      // would ever release this lease, so the slot goes on to another waiter or back (unless
      // close() already gave it back meanwhile).
      if (held.current !== lease) return;
      held.current = undefined;
      const other =
        host.closed || held.state !== 'held' ? undefined : this.nextWaiterFor(held.slot);
      if (other) await this.grant(other, held, true);
      else await host.keeper.release(held);
      return;
    }
    host.acquired({
      pool: waiter.pool,
      slot: held.slot,
      waitedMs: host.now() - waiter.enqueuedAt,
      handedOver,
    });
    waiter.resolve(lease);
  }

  private failWaiters(err: Error): void {
    this.host.report(err);
    this.host.waiters.rejectAll(err);
  }

  private async refreshView(): Promise<void> {
    // Sent at: the answer shows the slots as they were at some moment after this.
    const readAt = this.host.now();
    const records = await this.host.store.listSlots(this.host.name);
    this.view = new Map(records.map((r) => [r.slot, r]));
    this.viewReadAt = readAt;
    this.freedAt.clear();
    this.viewLoaded = true;
    this.host.demand.settleRefills(this.idleInView());
  }

  /**
   * Whether the view showed `slot` free less than a lease ago. Only then may a claim ask for a
   * slot with no holder (ClaimWrite.seenFree): anyone who took it since holds a lease that has
   * not run out, so the full condition would refuse as well. An older view may hide a holder
   * that died meanwhile, whose slot only the full condition takes over at once.
   */
  private seenFreeWithinLease(slot: number, now: number): boolean {
    if (this.view.get(slot)?.owner !== undefined) return false;
    return now - (this.freedAt.get(slot) ?? this.viewReadAt) <= this.host.leaseMs;
  }

  /** Sleeps until the next slot could become claimable, or the jittered fallback, whichever first. */
  private scheduleWake(): void {
    const { host } = this;
    if (host.waiters.empty || host.closed) {
      this.stop();
      return;
    }
    const now = host.now();
    const jitter = 0.75 + host.random() * 0.5;
    let wakeAt = now + host.fallbackCheckMs * jitter;
    for (const record of this.view.values()) {
      if (record.owner === undefined || host.keeper.has(record.slot)) continue;
      // A slot claimable already that the last round did not take is one no local waiter may
      // use now (pool, headroom, eligibility): waking for it at once would only spin.
      const at = claimableAt(record, host.timing);
      if (at > now) wakeAt = Math.min(wakeAt, at);
    }
    if (host.waiters.count('batch') > 0 && host.demand.batchYielding()) {
      wakeAt = Math.min(wakeAt, host.demand.yieldEndsAt + 1);
    }
    // Pumps come often (every hint, every scheduler refresh): they may only bring the wake
    // earlier, or the fallback check that finds slots freed without a hint would never fire.
    if (this.wakeTimer && this.wakeDueAt <= wakeAt) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeDueAt = wakeAt;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.viewLoaded = false;
        this.pump();
      },
      Math.max(0, wakeAt - now),
    );
    this.wakeTimer.unref?.();
  }
}

/** The error a waiter gets when the semaphore closes under it. */
export function closedError(): AcquireAbortedError {
  return new AcquireAbortedError({ cause: new Error('semaphore closed') });
}
