/**
 * Distributed counting semaphore over DynamoDB: L slot items, each free or held under a renewed
 * lease. A slot item is the holder, so the number of holders cannot drift from a counter.
 *
 * Slot states (see slot-rules.ts):
 *   free -> held (conditional claim) -> free (release) | handed to a local waiter (no write)
 *   held, lease expired, no call recorded          -> claimable (dead holder before its call)
 *   held, call recorded at t, t + Stedi bound past -> claimable (Stedi has finished it too)
 *
 * This file is the public face; the parts behind it, each with its own state:
 * - waiter-queue.ts: local waiters, realtime first;
 * - grant-loop.ts: grant rounds, claims, hand-over, the wake-up schedule;
 * - demand.ts: what other processes want (hints), fair share, lending headroom and floor;
 * - lease-keeper.ts: renewals, call-start covers, loss and release of held slots;
 * - background-tasks.ts: every piece of work started in the background, awaited by close().
 * Every store request is bounded (deadline-store.ts).
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { AcquireAbortedError } from '../errors/acquire-aborted-error.js';
import { AcquireTimeoutError } from '../errors/acquire-timeout-error.js';
import type { LeaseLostError } from '../errors/lease-lost-error.js';
import { BackgroundTasks } from './background-tasks.js';
import { withDeadline } from './deadline-store.js';
import { Demand } from './demand.js';
import { closedError, GrantLoop } from './grant-loop.js';
import { LeaseKeeper } from './lease-keeper.js';
import type { SlotLease, HeldSlot, LeaseHost } from './slot-lease.js';
import type { ReclaimTiming } from './slot-rules.js';
import type { HintChannel, Pool, ReleaseHint, SemaphoreStore } from './types.js';
import { WaiterQueue, type Waiter, type WaiterAdmission } from './waiter-queue.js';

export type { WaiterAdmission } from './waiter-queue.js';

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
   * no write in its path. Must exceed the renew interval and the skew margin.
   * @defaultValue max(leaseMs / 2, 2 * skewMarginMs)
   */
  readonly callCoverAheadMs?: number;
  /**
   * Deadline of one store request: a request with no answer by then fails (and a write it made
   * may still land, which is handled as an unknown outcome).
   * @defaultValue leaseMs / 4, within 1000 .. 2000
   */
  readonly storeTimeoutMs?: number | undefined;
  /**
   * How long a realtime-demand hint makes batch yield in every process: batch holders release
   * instead of handing over to batch, batch waiters hold back. @defaultValue 500
   */
  readonly realtimeDemandMs?: number;
  /** Hand a finishing holder's slot to a local waiter instead of releasing it. @defaultValue true */
  readonly handOver?: boolean;
  /** Claim writes one process keeps in flight at most. @defaultValue 8 */
  readonly maxClaimsInFlight?: number;
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
  /**
   * Write the call cover with the claim (or hand-over), so the caller's `lease.markCallStart()`
   * right before its call needs no write. That call is still required: it is what tells `close()`
   * a call may be running on the slot (keep it) rather than not (release it).
   */
  readonly markCallStart?: boolean;
  /**
   * Payer and tenant limits: asked on every grant round and hand-over, a waiter that may not start
   * now is passed over. Call `recheck()` when the answer may change.
   */
  readonly admission?: WaiterAdmission;
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
  maxClaimsInFlight: 8,
  now: Date.now,
  random: Math.random,
} as const;

type Resolved = Required<Omit<SemaphoreOptions, 'hints'>> & Pick<SemaphoreOptions, 'hints'>;

/** Deadline of one store request for a lease: a hung renewal fails, and is retried, in time. */
export function defaultStoreTimeoutMs(leaseMs: number): number {
  // At least 1 s: a deadline is for hung requests, not slow ones, and short test leases on a
  // loaded machine otherwise turned slow dynalite answers into refused waiters.
  return Math.max(1_000, Math.min(2_000, leaseMs / 4));
}

let ownerCounter = 0;
const ownerPrefix = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

/** A counting semaphore whose slots live in a SemaphoreStore and are shared by every process. */
export class Semaphore extends EventEmitter<SemaphoreEvents> implements LeaseHost {
  readonly options: Resolved;
  private readonly waiters = new WaiterQueue();
  private readonly tasks: BackgroundTasks;
  private readonly keeper: LeaseKeeper;
  private readonly demand: Demand;
  private readonly loop: GrantLoop;
  private unsubscribe: (() => Promise<void>) | undefined;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly instanceId = `${ownerPrefix}:${randomUUID().slice(0, 8)}`;

  constructor(options: SemaphoreOptions) {
    super();
    const given = stripUndefined(options);
    const leaseMs = given.leaseMs ?? defaults.leaseMs;
    const skewMarginMs = given.skewMarginMs ?? defaults.skewMarginMs;
    this.options = {
      ...defaults,
      callCoverAheadMs: Math.max(leaseMs / 2, 2 * skewMarginMs),
      storeTimeoutMs: defaultStoreTimeoutMs(leaseMs),
      ...given,
    } as Resolved;
    const o = this.options;
    if (!Number.isInteger(o.capacity) || o.capacity < 1)
      throw new RangeError('capacity must be an integer >= 1');
    if (
      !Number.isInteger(o.realtimeReserved) ||
      o.realtimeReserved < 0 ||
      o.realtimeReserved >= o.capacity
    ) {
      throw new RangeError('realtimeReserved must be an integer in [0, capacity)');
    }
    // A call may start only while the cover reaches past now + skew: a shorter cover never does.
    if (o.callCoverAheadMs <= o.skewMarginMs)
      throw new RangeError('callCoverAheadMs must exceed skewMarginMs');
    const report = (err: Error) => this.emit('error', err);
    const store = withDeadline(o.store, o.storeTimeoutMs ?? 2_000);
    const timing: ReclaimTiming = {
      stediTimeoutMs: o.stediTimeoutMs,
      skewMarginMs: o.skewMarginMs,
    };
    this.tasks = new BackgroundTasks(report);
    this.keeper = new LeaseKeeper({
      name: o.name,
      store,
      leaseMs: o.leaseMs,
      renewEveryMs: o.leaseMs * o.renewFraction,
      coverAheadMs: o.callCoverAheadMs,
      skewMarginMs: o.skewMarginMs,
      stediTimeoutMs: o.stediTimeoutMs,
      tasks: this.tasks,
      now: () => o.now(),
      report,
      renewed: (slot) => this.emit('renewed', { slot }),
      lost: (err) => {
        this.loop.invalidate();
        this.emit('leaseLost', err);
      },
      released: (slot) => this.onReleased(slot),
    });
    this.demand = new Demand(
      {
        name: o.name,
        capacity: o.capacity,
        instanceId: this.instanceId,
        hints: o.hints,
        now: () => o.now(),
        report,
      },
      o.realtimeReserved,
      o.realtimeDemandMs,
    );
    const isClosed = () => this.closed;
    this.loop = new GrantLoop({
      name: o.name,
      capacity: o.capacity,
      leaseMs: o.leaseMs,
      coverAheadMs: o.callCoverAheadMs,
      fallbackCheckMs: o.fallbackCheckMs,
      handOver: o.handOver,
      maxClaimsInFlight: o.maxClaimsInFlight,
      timing,
      store,
      keeper: this.keeper,
      demand: this.demand,
      waiters: this.waiters,
      tasks: this.tasks,
      leaseHost: this,
      get closed() {
        return isClosed();
      },
      now: () => o.now(),
      random: () => o.random(),
      newOwner: () => `${ownerPrefix}:${++ownerCounter}`,
      report,
      acquired: (e) => this.emit('acquired', e),
    });
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
    if (this.closed) throw closedError();
    if (opts.signal?.aborted) throw new AcquireAbortedError({ cause: opts.signal.reason });
    await this.start();
    if (this.closed) throw closedError();
    return new Promise<SlotLease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle(new AcquireAbortedError({ cause: opts.signal?.reason }));
      const cleanup = () => {
        waiter.settled = true;
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.waiters.remove(waiter);
      };
      const settle = (err: Error) => {
        if (waiter.settled) return;
        cleanup();
        reject(err);
      };
      const waiter: Waiter = {
        pool: opts.pool,
        markCallStart: opts.markCallStart ?? false,
        admission: opts.admission,
        enqueuedAt: this.options.now(),
        settled: false,
        claiming: false,
        resolve: (lease) => {
          if (waiter.settled) return;
          cleanup();
          resolve(lease);
        },
        reject: settle,
      };
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(
          () => settle(new AcquireTimeoutError(opts.pool, opts.timeoutMs ?? 0)),
          opts.timeoutMs,
        );
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
      // Said at once, not only when a round finds no slot: processes starting together then
      // know of each other before their first read answers, and none takes more than its share
      // only to give the excess back, each give-back raced for by every process below its share.
      // Only a waiter that may start: one its payer or tenant holds back wants no slot, and
      // counting it would shrink every other process's share while slots stand idle.
      if (opts.pool === 'batch' && (opts.admission?.mayStart() ?? true))
        this.demand.announce('batch');
      this.loop.pump();
    });
  }

  /** Number of local waiters by pool. */
  waiting(): { realtime: number; batch: number } {
    return { realtime: this.waiters.count('realtime'), batch: this.waiters.count('batch') };
  }

  /** Slots this process holds now. */
  heldSlots(): number[] {
    return this.keeper.slots();
  }

  /** Sets how many idle slots batch leaves for realtime (the lending policy's headroom). */
  setHeadroom(slots: number): void {
    if (this.demand.setHeadroom(slots)) this.loop.pump();
  }

  /**
   * Changes the slots batch never claims. Batch calls already on such a slot finish, and the slot
   * then goes back rather than to batch.
   */
  setRealtimeReserved(slots: number): void {
    if (this.demand.setReserved(slots)) this.loop.pump();
  }

  /**
   * Sets how long batch yields to a waiting realtime check. Long enough for the next release to
   * come (about the mean call time over L), no longer: every release in the window goes back
   * rather than to batch, so a fixed half second drains the allocation when calls take 150 ms.
   */
  setRealtimeDemandMs(ms: number): void {
    this.demand.demandMs = Math.max(1, Math.round(ms));
  }

  /** The headroom in force. */
  get realtimeHeadroom(): number {
    return this.demand.headroom;
  }

  /** Grants again to waiters whose `eligible` answer may have changed. */
  recheck(): void {
    this.loop.pump();
  }

  /** One check now, as the wake timer would do: re-read the slots and grant what is free. */
  checkNow(): Promise<void> {
    return this.loop.checkNow();
  }

  /** Background work still running (claims, hand-overs, clean-up releases). */
  get backgroundTasks(): number {
    return this.tasks.size;
  }

  /**
   * Refuses new acquires and rejects waiters. Slots with no call gets released; a slot whose
   * call may still be running at Stedi stays taken until that call's bound (renewals stop, the
   * recorded call keeps it), whoever stops: releasing it would let another process call while
   * Stedi still counts this one. Waits for all background work, then unsubscribes.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.loop.stop();
      this.waiters.rejectAll(closedError());
      await Promise.allSettled(this.keeper.all().map((h) => this.giveUp(h)));
      await this.keeper.drain();
      this.keeper.stop();
      await this.tasks.settled();
      // A subscription still being set up would otherwise outlive close().
      await this.started;
      await this.unsubscribe?.().catch((err: unknown) =>
        this.emit('error', asError(err, 'unsubscribing from hints failed')),
      );
    })();
    return this.closing;
  }

  /**
   * Decided at once, not after the writes in flight: a holder whose call has not started must
   * be refused from this moment (release() marks the slot given back before any await), or its
   * markCallStart, asked meanwhile, would make the slot look in a call and keep it for nobody.
   */
  private async giveUp(held: HeldSlot): Promise<void> {
    if (held.current?.callStarted) {
      await this.keeper.settledWrites(held);
      this.keeper.keep(held);
      return;
    }
    held.current = undefined;
    await this.keeper.release(held);
  }

  // ---- LeaseHost ----

  /** @internal Makes sure a call starting now is covered on the slot, writing only when it is not. */
  async markCallStart(held: HeldSlot): Promise<void> {
    await this.keeper.markCallStart(held);
  }

  /** @internal True when a call starting now is covered on the slot. */
  covered(held: HeldSlot): boolean {
    return this.keeper.covered(held);
  }

  /** @internal */
  async renew(held: HeldSlot): Promise<void> {
    await this.keeper.renew(held);
  }

  /** @internal Hands the slot to a local waiter or releases it. */
  async finish(lease: SlotLease): Promise<void> {
    const held = lease.held;
    if (held.current !== lease) return;
    held.current = undefined;
    if (held.lost) return;
    await this.loop.finish(held);
  }

  /** @internal A call that may still run at Stedi keeps its slot until its bound. */
  keep(lease: SlotLease): void {
    const held = lease.held;
    if (held.current !== lease) return;
    held.current = undefined;
    if (held.lost) return;
    this.keeper.keep(held);
    // The view knows the slot as ours, without its call: read again, or it looks free too soon.
    this.loop.invalidate();
  }

  // ---- hints ----

  private onReleased(slot: number): void {
    this.loop.forget(slot);
    this.emit('released', { slot });
    this.demand.publish({ kind: 'released', slot }, 'a release hint');
    this.loop.pump();
  }

  private onHint(hint: ReleaseHint): void {
    const { released, invalidatesView } = this.demand.onHint(hint);
    if (invalidatesView) this.loop.invalidate();
    if (released === undefined) return;
    this.loop.forget(released);
    this.loop.pump();
  }
}

function asError(err: unknown, message: string): Error {
  return new Error(`${message}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
