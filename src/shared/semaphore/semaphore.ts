/**
 * Distributed counting semaphore over DynamoDB: L slot items, each free or held under a renewed
 * lease. A slot item is the holder, so the number of holders cannot drift from a counter.
 *
 * Slot states (see slot-rules.ts):
 *   free -> held (conditional claim) -> free (release) | handed to a local waiter (no write)
 *   held, lease expired, no call recorded          -> claimable (dead holder before its call)
 *   held, call recorded at t, t + Stedi bound past -> claimable (Stedi has finished it too)
 *
 * Waiting: one grant loop per process serves all local waiters (realtime first, then FIFO). It
 * reads the slots once, claims what the cached view says is free, and then sleeps until a release
 * hint (Redis pub/sub), the moment a known lease or call bound runs out, or a jittered fallback
 * check, whichever is first. DynamoDB store errors fail closed: the waiter is refused, no slot is
 * granted that could not be recorded.
 *
 * Scheduling hooks: a waiter may carry an `eligible` predicate (payer and tenant limits); one that
 * may not start now is passed over, never blocking the waiters behind it. Lending: batch may use
 * every slot but the `realtimeReserved` floor, as long as `headroom` slots stay idle for realtime;
 * when realtime takes an idle slot below that, a `refill` hint makes the next batch call to finish
 * anywhere release its slot instead of handing it to batch.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { AcquireAbortedError } from '../errors/acquire-aborted-error.js';
import { AcquireTimeoutError } from '../errors/acquire-timeout-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import { SemaphoreStoreError } from '../errors/semaphore-store-error.js';
import {
  claimableAt,
  isClaimable,
  poolMayUse,
  reclaimCutoffs,
  slotPreference,
  type ReclaimTiming,
} from './slot-rules.js';
import { SlotLease, type HeldSlot, type LeaseHost } from './slot-lease.js';
import type { HintChannel, Pool, ReleaseHint, SemaphoreStore, SlotRecord } from './types.js';

/** Options of a Semaphore; the unit of every duration is ms. */
export interface SemaphoreOptions {
  readonly store: SemaphoreStore;
  /** Cross-process release hints; without them waiters rely on the fallback check. */
  readonly hints?: HintChannel | undefined;
  /** Semaphore name, one per Stedi account. */
  readonly name: string;
  /** The allocation L. */
  readonly capacity: number;
  /** Slots R only realtime holders may use. @defaultValue 0 */
  readonly realtimeReserved?: number;
  /** @defaultValue 15000 */
  readonly leaseMs?: number;
  /** Renew when this fraction of the lease has passed. @defaultValue 1/3 */
  readonly renewFraction?: number;
  /** Stedi's bound on one call. @defaultValue 90000 */
  readonly stediTimeoutMs?: number;
  /** Tolerated clock difference between workers. @defaultValue 500 */
  readonly skewMarginMs?: number;
  /** Longest sleep of a waiting process between checks, jittered ±25%. @defaultValue 1000 */
  readonly fallbackCheckMs?: number;
  /**
   * How far ahead a call start is recorded. A holder working through a backlog writes "calls up to
   * now + this are covered" with each renewal, so the next call on a handed-over slot starts with
   * no write in its path. Must exceed the renew interval. @defaultValue leaseMs / 2
   */
  readonly callCoverAheadMs?: number;
  /**
   * How long a realtime-demand hint makes batch yield in every process: batch holders release
   * instead of handing over to batch, batch waiters hold back. @defaultValue 500
   */
  readonly realtimeDemandMs?: number;
  /** Hand a finishing holder's slot to a local waiter instead of releasing it. @defaultValue true */
  readonly handOver?: boolean;
  /** Clock used for every lease time written or compared. @defaultValue Date.now */
  readonly now?: () => number;
  /** Source of jitter. @defaultValue Math.random */
  readonly random?: () => number;
}

/** Options of one acquire call. */
export interface AcquireOptions {
  readonly pool: Pool;
  /** Reject with AcquireTimeoutError after this long. @defaultValue no timeout */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Record the Stedi call start in the same write as the claim (the caller calls right away). */
  readonly markCallStart?: boolean;
  /**
   * Payer and tenant limits: asked on every grant round and hand-over, a waiter that may not start
   * now is passed over. Call `recheck()` when the answer may change.
   */
  readonly admission?: WaiterAdmission;
}

/** What the semaphore asks of a waiter's scheduling keys. */
export interface WaiterAdmission {
  /** True when the waiter may be given a slot now. */
  mayStart(): boolean;
  /** The waiter was picked for a slot: count it at once; returns an undo for a lost claim. */
  reserve(): () => void;
}

/** Events a Semaphore emits; attach an 'error' listener, as with any EventEmitter. */
export interface SemaphoreEvents {
  error: [Error];
  leaseLost: [LeaseLostError];
  acquired: [{ pool: Pool; slot: number; waitedMs: number; handedOver: boolean }];
  released: [{ slot: number }];
  renewed: [{ slot: number }];
}

const defaults = {
  realtimeReserved: 0,
  leaseMs: 15_000,
  renewFraction: 1 / 3,
  stediTimeoutMs: 90_000,
  skewMarginMs: 500,
  fallbackCheckMs: 1_000,
  realtimeDemandMs: 500,
  handOver: true,
  now: Date.now,
  random: Math.random,
} as const;

type Resolved = Required<Omit<SemaphoreOptions, 'hints'>> & Pick<SemaphoreOptions, 'hints'>;

interface Waiter {
  readonly pool: Pool;
  readonly markCallStart: boolean;
  readonly admission: WaiterAdmission | undefined;
  readonly enqueuedAt: number;
  settled: boolean;
  resolve(lease: SlotLease): void;
  reject(err: Error): void;
}

let ownerCounter = 0;
const ownerPrefix = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** A counting semaphore whose slots live in a SemaphoreStore and are shared by every process. */
export class Semaphore extends EventEmitter<SemaphoreEvents> implements LeaseHost {
  readonly options: Resolved;
  private readonly timing: ReclaimTiming;
  private readonly waiters: { realtime: Waiter[]; batch: Waiter[] } = { realtime: [], batch: [] };
  private readonly held = new Map<number, HeldSlot>();
  private view = new Map<number, SlotRecord>();
  private viewLoaded = false;
  private pumping = false;
  private pumpAgain = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeDueAt = Infinity;
  private unsubscribe: (() => Promise<void>) | undefined;
  private started: Promise<void> | undefined;
  private closed = false;
  /** Until when batch yields to realtime waiting elsewhere (this process's clock). */
  private batchYieldUntil = 0;
  private readonly lastDemandSentAt: Record<Pool, number> = {
    realtime: -Infinity,
    batch: -Infinity,
  };
  /** Other processes seen waiting for batch slots, with when (this process's clock). */
  private readonly batchPeers = new Map<string, number>();
  /** Idle slots the lending policy keeps for realtime (batch does not take the last ones). */
  private headroom = 0;
  /** Batch releases owed to refill the headroom after realtime took idle slots. */
  private refillsOwed = 0;
  /** Slots batch never claims (the floor); options.realtimeReserved until set at run time. */
  private reserved: number;
  /** How long a realtime-demand hint makes batch yield; options.realtimeDemandMs until set. */
  private demandMs: number;
  private readonly instanceId = `${ownerPrefix}:${randomUUID().slice(0, 8)}`;

  constructor(options: SemaphoreOptions) {
    super();
    const given = stripUndefined(options);
    const leaseMs = given.leaseMs ?? defaults.leaseMs;
    this.options = { ...defaults, callCoverAheadMs: leaseMs / 2, ...given } as Resolved;
    const { capacity, realtimeReserved } = this.options;
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('capacity must be an integer >= 1');
    if (
      !Number.isInteger(realtimeReserved) ||
      realtimeReserved < 0 ||
      realtimeReserved >= capacity
    ) {
      throw new RangeError('realtimeReserved must be an integer in [0, capacity)');
    }
    this.reserved = realtimeReserved;
    this.demandMs = this.options.realtimeDemandMs;
    this.timing = {
      stediTimeoutMs: this.options.stediTimeoutMs,
      skewMarginMs: this.options.skewMarginMs,
    };
  }

  /** Subscribes to release hints; acquire() does it on first use. */
  start(): Promise<void> {
    this.started ??= (async () => {
      if (!this.options.hints) return;
      try {
        this.unsubscribe = await this.options.hints.subscribe(this.options.name, (hint) =>
          this.onHint(hint),
        );
      } catch (err) {
        // Hints are an optimisation: without them the fallback check still finds free slots.
        this.emit('error', asError(err, 'subscribing to release hints failed'));
      }
    })();
    return this.started;
  }

  /** Waits for a slot of `pool` and returns its lease. */
  async acquire(opts: AcquireOptions): Promise<SlotLease> {
    if (this.closed) throw new AcquireAbortedError({ cause: new Error('semaphore closed') });
    if (opts.signal?.aborted) throw new AcquireAbortedError({ cause: opts.signal.reason });
    await this.start();
    return new Promise<SlotLease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(new AcquireAbortedError({ cause: opts.signal?.reason }));
      const waiter: Waiter = {
        pool: opts.pool,
        markCallStart: opts.markCallStart ?? false,
        admission: opts.admission,
        enqueuedAt: this.options.now(),
        settled: false,
        resolve: (lease) => {
          if (waiter.settled) return;
          cleanup();
          resolve(lease);
        },
        reject: (err) => settle(err),
      };
      const cleanup = () => {
        waiter.settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const list = this.waiters[waiter.pool];
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
      };
      const settle = (err: Error) => {
        if (waiter.settled) return;
        cleanup();
        reject(err);
      };
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(
          () => settle(new AcquireTimeoutError(opts.pool, opts.timeoutMs ?? 0)),
          opts.timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters[opts.pool].push(waiter);
      this.pump();
    });
  }

  /** Number of local waiters by pool. */
  waiting(): { realtime: number; batch: number } {
    return { realtime: this.waiters.realtime.length, batch: this.waiters.batch.length };
  }

  /** Slots this process holds now. */
  heldSlots(): number[] {
    return [...this.held.keys()];
  }

  /** Sets how many idle slots batch leaves for realtime (the lending policy's headroom). */
  setHeadroom(slots: number): void {
    const next = Math.max(0, Math.min(this.options.capacity, Math.floor(slots)));
    if (next === this.headroom) return;
    const lent = next < this.headroom;
    // A larger headroom is taken back from batch as its calls finish, as realtime's refills are;
    // a smaller one owes that much less.
    this.refillsOwed = Math.max(
      0,
      Math.min(this.options.capacity, this.refillsOwed + next - this.headroom),
    );
    this.headroom = next;
    if (lent) this.pump();
  }

  /**
   * Changes the slots batch never claims. Batch calls already on such a slot finish, and the slot
   * then goes back rather than to batch.
   */
  setRealtimeReserved(slots: number): void {
    const next = Math.max(0, Math.min(this.options.capacity - 1, Math.floor(slots)));
    if (next === this.reserved) return;
    const lent = next < this.reserved;
    this.reserved = next;
    if (lent) this.pump();
  }

  /**
   * Sets how long batch yields to a waiting realtime check. Long enough for the next release to
   * come (about the mean call time over L), no longer: every release in the window goes back
   * rather than to batch, so a fixed half second drains the allocation when calls take 150 ms.
   */
  setRealtimeDemandMs(ms: number): void {
    this.demandMs = Math.max(1, Math.round(ms));
  }

  /** The headroom in force. */
  get realtimeHeadroom(): number {
    return this.headroom;
  }

  /** Grants again to waiters whose `eligible` answer may have changed. */
  recheck(): void {
    this.pump();
  }

  /** One check now, as the wake timer would do: re-read the slots and grant what is free. */
  async checkNow(): Promise<void> {
    this.viewLoaded = false;
    this.pump();
    while (this.pumping) await new Promise((r) => setImmediate(r));
  }

  /** Refuses new acquires, rejects waiters, releases held slots, stops timers and hints. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    for (const w of [...this.waiters.realtime, ...this.waiters.batch]) {
      w.reject(new AcquireAbortedError({ cause: new Error('semaphore closed') }));
    }
    await Promise.allSettled(
      [...this.held.values()].map(async (h) => {
        if (h.current) await h.current.release();
        else await this.releaseHeld(h);
      }),
    );
    await this.unsubscribe?.().catch(() => undefined);
  }

  // ---- LeaseHost ----

  /** @internal Makes sure a call starting now is covered on the slot, writing only when it is not. */
  async markCallStart(held: HeldSlot): Promise<void> {
    while (held.renewing) await held.renewing.catch(() => undefined);
    if (held.callStartedAt !== undefined && held.callStartedAt >= this.options.now()) return;
    await this.writeLease(held, true, true);
  }

  /** @internal */
  async renew(held: HeldSlot): Promise<void> {
    await this.writeLease(held, false, true);
  }

  /** @internal Hands the slot to a local waiter or releases it. */
  async finish(lease: SlotLease): Promise<void> {
    const held = lease.held;
    if (held.current !== lease) return;
    held.current = undefined;
    if (held.lost) return;
    const next = this.options.handOver && !this.closed ? this.nextWaiterFor(held.slot) : undefined;
    if (next) {
      await this.grant(next, held, true);
      return;
    }
    await this.releaseHeld(held);
  }

  // ---- granting ----

  private nextWaiterFor(slot: number): Waiter | undefined {
    const { capacity } = this.options;
    const realtimeReserved = this.reserved;
    for (const pool of ['realtime', 'batch'] as const) {
      if (!poolMayUse(pool, slot, capacity, realtimeReserved)) continue;
      // Handing over keeps our share as it is: allowed up to the fair share, not beyond; and a
      // headroom owed to realtime is refilled before batch gets the slot again.
      if (
        pool === 'batch' &&
        (this.batchYielding() ||
          this.held.size > this.fairShare() ||
          this.refillsOwed > 0 ||
          (this.headroom > 0 && this.idleInView() < this.headroom))
      )
        continue;
      const w = this.waiters[pool].find(isEligible);
      if (w) {
        w.admission?.reserve();
        return w;
      }
    }
    return undefined;
  }

  private hasWaiters(): boolean {
    return this.waiters.realtime.length + this.waiters.batch.length > 0;
  }

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (!this.hasWaiters() || this.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.grantRound();
        } while (this.pumpAgain && this.hasWaiters() && !this.closed);
      } finally {
        this.pumping = false;
        this.scheduleWake();
      }
    })();
  }

  /** Claims, in one concurrent round, a slot for each waiter the cached view can serve. */
  private async grantRound(): Promise<void> {
    if (!this.viewLoaded) {
      try {
        await this.refreshView();
      } catch (err) {
        this.failWaiters(asStoreError(err, 'listSlots'));
        return;
      }
    }
    const { capacity } = this.options;
    const realtimeReserved = this.reserved;
    const cutoffs = reclaimCutoffs(this.options.now(), this.timing);
    const taken = new Set<number>(this.held.keys());
    const rounds: Promise<void>[] = [];
    let realtimeUnserved = false;
    let batchUnserved = false;
    const yielding = this.batchYielding();
    const share = this.fairShare();
    let idle = this.idleInView();
    for (const waiter of [...this.waiters.realtime, ...this.waiters.batch]) {
      if (!isEligible(waiter)) continue;
      if (waiter.pool === 'batch' && (yielding || taken.size >= share)) {
        batchUnserved = true;
        continue;
      }
      // Lending: batch leaves `headroom` idle slots for realtime.
      if (waiter.pool === 'batch' && idle - 1 < this.headroom) {
        batchUnserved = true;
        continue;
      }
      const slot = slotPreference(waiter.pool, capacity, realtimeReserved).find(
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
      const refill = waiter.pool === 'realtime' && idle < this.headroom;
      const undo = waiter.admission?.reserve();
      rounds.push(this.claimFor(waiter, slot, cutoffs, undo, refill));
    }
    if (realtimeUnserved) this.announceDemand('realtime');
    else if (batchUnserved) this.announceDemand('batch');
    await Promise.all(rounds);
  }

  private async claimFor(
    waiter: Waiter,
    slot: number,
    cutoffs: ReturnType<typeof reclaimCutoffs>,
    undoPick: (() => void) | undefined,
    refill = false,
  ): Promise<void> {
    const now = this.options.now();
    const owner = `${ownerPrefix}:${++ownerCounter}`;
    const leaseUntil = now + this.options.leaseMs;
    const callStartedAt = waiter.markCallStart ? now + this.options.callCoverAheadMs : undefined;
    let ok: boolean;
    try {
      ok = await this.options.store.claim(
        this.options.name,
        slot,
        {
          owner,
          pool: waiter.pool,
          now,
          leaseUntil,
          ...(callStartedAt !== undefined ? { callStartedAt } : {}),
        },
        cutoffs,
      );
    } catch (err) {
      // Fail closed. The write may still have landed: give it back so it does not sit until expiry.
      this.viewLoaded = false;
      void this.options.store.release(this.options.name, slot, owner).catch(() => undefined);
      this.failWaiters(asStoreError(err, 'claim'));
      return;
    }
    if (!ok) {
      undoPick?.();
      // Someone else holds it with a live lease: note that, and look at the other slots.
      this.view.set(slot, { slot, owner: '(other)', leaseUntil: now + this.options.leaseMs });
      this.pumpAgain = true;
      return;
    }
    const held: HeldSlot = {
      slot,
      owner,
      leaseUntil,
      callStartedAt,
      lost: undefined,
      renewTimer: undefined,
      renewing: undefined,
      current: undefined,
    };
    this.held.set(slot, held);
    this.view.set(slot, { slot, owner, pool: waiter.pool, acquiredAt: now, leaseUntil });
    if (refill) this.announceRefill();
    this.scheduleRenewal(held);
    if (waiter.settled || this.closed) {
      // The waiter gave up while we claimed: serve another one, or give the slot back.
      const other = this.closed ? undefined : this.nextWaiterFor(slot);
      if (other) await this.grant(other, held, false);
      else await this.releaseHeld(held);
      return;
    }
    await this.grant(waiter, held, false, callStartedAt !== undefined);
  }

  private async grant(
    waiter: Waiter,
    held: HeldSlot,
    handedOver: boolean,
    callMarked = false,
  ): Promise<void> {
    const lease = new SlotLease(this, held, waiter.pool, this.options.now(), handedOver);
    held.current = lease;
    // Remove the waiter before any await, so no second slot is granted to it meanwhile.
    const list = this.waiters[waiter.pool];
    const i = list.indexOf(waiter);
    if (i >= 0) list.splice(i, 1);
    if (waiter.markCallStart && !callMarked) {
      try {
        await this.markCallStart(held);
      } catch (err) {
        held.current = undefined;
        if (!held.lost) await this.releaseHeld(held);
        waiter.reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (waiter.settled) {
        // Aborted (parked, shut down, timed out) while the call start was being written: nobody
        // would ever release this lease, so the slot goes on to another waiter or back (unless
        // close() already gave it back meanwhile).
        if (held.current !== lease) return;
        held.current = undefined;
        const other = this.closed || held.lost ? undefined : this.nextWaiterFor(held.slot);
        if (other) await this.grant(other, held, true);
        else if (!held.lost) await this.releaseHeld(held);
        return;
      }
    }
    this.emit('acquired', {
      pool: waiter.pool,
      slot: held.slot,
      waitedMs: this.options.now() - waiter.enqueuedAt,
      handedOver,
    });
    waiter.resolve(lease);
  }

  private failWaiters(err: Error): void {
    this.emit('error', err);
    for (const w of [...this.waiters.realtime, ...this.waiters.batch]) w.reject(err);
  }

  private async refreshView(): Promise<void> {
    const records = await this.options.store.listSlots(this.options.name);
    this.view = new Map(records.map((r) => [r.slot, r]));
    this.viewLoaded = true;
    // The true idle count settles what refills are still owed (hints may have been lost).
    if (this.headroom === 0 || this.idleInView() >= this.headroom) this.refillsOwed = 0;
  }

  private onHint(hint: ReleaseHint): void {
    if (hint.kind === 'batch-demand') {
      if (hint.origin !== this.instanceId) this.batchPeers.set(hint.origin, this.options.now());
      return;
    }
    if (hint.kind === 'realtime-demand') {
      // Batch here stands back for a moment: the next shared slot released goes to realtime.
      if (hint.origin !== this.instanceId) {
        this.batchYieldUntil = Math.max(this.batchYieldUntil, this.options.now() + hint.forMs);
      }
      return;
    }
    if (hint.kind === 'refill') {
      this.refillsOwed = Math.min(this.options.capacity, this.refillsOwed + 1);
      // Realtime took a slot our cached view may still show idle: re-read before the next grant,
      // or the slot a batch holder gives back for the refill is claimed again by our batch.
      this.viewLoaded = false;
      return;
    }
    // Any release, ours included (pub/sub echoes it), refills the headroom by one.
    if (this.refillsOwed > 0) this.refillsOwed--;
    if (this.held.has(hint.slot)) return;
    this.view.delete(hint.slot);
    this.pump();
  }

  /** Slots the cached view shows idle (claimable, not ours). */
  private idleInView(): number {
    const cutoffs = reclaimCutoffs(this.options.now(), this.timing);
    let idle = 0;
    for (let slot = 0; slot < this.options.capacity; slot++)
      if (!this.held.has(slot) && isClaimable(this.view.get(slot), cutoffs)) idle++;
    return idle;
  }

  /** Realtime left fewer idle slots than the headroom: ask for one batch release anywhere. */
  private announceRefill(): void {
    this.options.hints
      ?.publish(this.options.name, { kind: 'refill', origin: this.instanceId })
      .catch((err: unknown) => this.emit('error', asError(err, 'publishing a refill hint failed')));
  }

  private batchYielding(): boolean {
    return this.batchYieldUntil > this.options.now();
  }

  /**
   * The most slots this process should hold while batch waits in other processes too: the
   * shared slots split evenly over the processes seen waiting in the last second, so hand-over
   * cannot gather the whole allocation into one process (whose crash would then idle it all
   * until Stedi's bound). With no other process waiting, there is no limit.
   */
  private fairShare(): number {
    const now = this.options.now();
    for (const [origin, seenAt] of this.batchPeers)
      if (now - seenAt > 1_000) this.batchPeers.delete(origin);
    if (this.batchPeers.size === 0) return Infinity;
    const shared = this.options.capacity - this.reserved;
    return Math.max(1, Math.ceil(shared / (this.batchPeers.size + 1)));
  }

  /**
   * A local waiter found every slot taken. Realtime: ask other processes to stop handing shared
   * slots to batch for a moment, so the next one released comes here. Batch: let other processes
   * know we wait, so none keeps more than its fair share.
   */
  private announceDemand(pool: Pool): void {
    const hints = this.options.hints;
    const now = this.options.now();
    if (!hints || now - this.lastDemandSentAt[pool] < this.demandMs / 2) return;
    this.lastDemandSentAt[pool] = now;
    const hint: ReleaseHint =
      pool === 'realtime'
        ? { kind: 'realtime-demand', forMs: this.demandMs, origin: this.instanceId }
        : { kind: 'batch-demand', origin: this.instanceId };
    hints
      .publish(this.options.name, hint)
      .catch((err: unknown) =>
        this.emit('error', asError(err, `publishing ${pool} demand failed`)),
      );
  }

  /** Sleeps until the next slot could become claimable, or the jittered fallback, whichever first. */
  private scheduleWake(): void {
    if (!this.hasWaiters() || this.closed) {
      if (this.wakeTimer) clearTimeout(this.wakeTimer);
      this.wakeTimer = undefined;
      return;
    }
    const now = this.options.now();
    const jitter = 0.75 + this.options.random() * 0.5;
    let wakeAt = now + this.options.fallbackCheckMs * jitter;
    for (const record of this.view.values()) {
      if (record.owner === undefined || this.held.has(record.slot)) continue;
      // A slot claimable already that the last round did not take is one no local waiter may
      // use now (pool, headroom, eligibility): waking for it at once would only spin.
      const at = claimableAt(record, this.timing);
      if (at > now) wakeAt = Math.min(wakeAt, at);
    }
    if (this.waiters.batch.length > 0 && this.batchYielding()) {
      wakeAt = Math.min(wakeAt, this.batchYieldUntil + 1);
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
    this.wakeTimer.unref();
  }

  // ---- holding ----

  private scheduleRenewal(
    held: HeldSlot,
    delayMs = this.options.leaseMs * this.options.renewFraction,
  ): void {
    if (held.renewTimer) clearTimeout(held.renewTimer);
    held.renewTimer = setTimeout(() => {
      held.renewTimer = undefined;
      this.writeLease(held, false, false).catch(() => undefined);
    }, delayMs);
    held.renewTimer.unref();
  }

  /**
   * Extends the lease. A slot that has been in a call (or is starting one) also gets its call
   * cover moved to now + callCoverAheadMs. Writes are chained so renewals never overlap.
   * `rethrow` is false for the background timer, whose failures go to 'error'.
   */
  private async writeLease(held: HeldSlot, startingCall: boolean, rethrow: boolean): Promise<void> {
    while (held.renewing) await held.renewing.catch(() => undefined);
    if (held.lost) throw held.lost;
    const write = (async () => {
      const now = this.options.now();
      const leaseUntil = now + this.options.leaseMs;
      const callStartedAt =
        startingCall || held.callStartedAt !== undefined
          ? now + this.options.callCoverAheadMs
          : undefined;
      let ok: boolean;
      try {
        ok = await this.options.store.renew(
          this.options.name,
          held.slot,
          held.owner,
          leaseUntil,
          callStartedAt,
        );
      } catch (err) {
        const storeErr = asStoreError(err, 'renew');
        this.emit('error', storeErr);
        if (this.options.now() >= held.leaseUntil - this.options.skewMarginMs) {
          this.markLost(held, storeErr);
        } else {
          this.scheduleRenewal(held, this.options.leaseMs / 10);
        }
        throw storeErr;
      }
      if (!ok) {
        this.markLost(held);
        throw held.lost ?? new LeaseLostError(held.slot);
      }
      held.leaseUntil = leaseUntil;
      if (callStartedAt !== undefined) held.callStartedAt = callStartedAt;
      this.scheduleRenewal(held);
      this.emit('renewed', { slot: held.slot });
    })();
    held.renewing = write;
    try {
      await write;
    } catch (err) {
      if (rethrow) throw err;
    } finally {
      if (held.renewing === write) held.renewing = undefined;
    }
  }

  private markLost(held: HeldSlot, cause?: unknown): void {
    if (held.lost) return;
    const why =
      cause === undefined
        ? 'it was reclaimed by another holder'
        : 'it could not be renewed before expiry';
    held.lost = new LeaseLostError(held.slot, `lease on slot ${held.slot} was lost: ${why}`, {
      cause,
    });
    if (held.renewTimer) clearTimeout(held.renewTimer);
    held.renewTimer = undefined;
    if (this.held.get(held.slot) === held) this.held.delete(held.slot);
    this.viewLoaded = false;
    held.current?.notifyLost(held.lost);
    this.emit('leaseLost', held.lost);
  }

  private async releaseHeld(held: HeldSlot): Promise<void> {
    if (held.renewTimer) clearTimeout(held.renewTimer);
    held.renewTimer = undefined;
    while (held.renewing) await held.renewing.catch(() => undefined);
    if (this.held.get(held.slot) === held) this.held.delete(held.slot);
    if (held.lost) return;
    try {
      await this.options.store.release(this.options.name, held.slot, held.owner);
    } catch (err) {
      // The slot then comes back when its lease (or, in a call, the Stedi bound) runs out.
      this.emit('error', asStoreError(err, 'release'));
      return;
    }
    this.view.delete(held.slot);
    this.emit('released', { slot: held.slot });
    if (this.options.hints) {
      this.options.hints
        .publish(this.options.name, { kind: 'released', slot: held.slot })
        .catch((err: unknown) =>
          this.emit('error', asError(err, 'publishing a release hint failed')),
        );
    }
    this.pump();
  }
}

function isEligible(w: Waiter): boolean {
  return w.admission?.mayStart() ?? true;
}

function asStoreError(err: unknown, operation: string): Error {
  return err instanceof SemaphoreStoreError
    ? err
    : new SemaphoreStoreError(operation, { cause: err });
}

function asError(err: unknown, message: string): Error {
  return new Error(`${message}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
