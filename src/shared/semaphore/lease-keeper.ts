/**
 * Lease keeping for the slots this process holds: renew, record call starts, lose, release.
 *
 * A held slot is renewed every `renewEveryMs`; a slot that has been in a call also has its call
 * cover moved to now + `coverAheadMs`, so the next call on a handed-over slot needs no write. Every
 * write is chained per slot (renewals never overlap) and checked when it returns: a write that
 * came back late may have outlived its own lease or cover, so the cover a call relies on must
 * still reach `skewMarginMs` past now. Only a `held` slot is renewed: a renewal that returns after
 * a release began never re-arms its timer, so a released slot is never renewed again.
 *
 * A slot is lost only when the store refuses a renewal (someone else owns it). A store that does
 * not answer is retried, past the lease's end too: a call relies on the cover written before, a
 * call start with no cover needs a write, so nothing starts on a slot the store has not vouched
 * for, and the slot is usable again as soon as the store answers.
 */
import { AcquireAbortedError } from '../errors/acquire-aborted-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import { SemaphoreStoreError } from '../errors/semaphore-store-error.js';
import type { BackgroundTasks } from './background-tasks.js';
import type { HeldSlot } from './slot-lease.js';
import type { SemaphoreStore } from './types.js';

/** What lease keeping needs from its semaphore. */
export interface KeeperHost {
  readonly name: string;
  /** The store, every request bounded by a deadline. */
  readonly store: SemaphoreStore;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly coverAheadMs: number;
  readonly skewMarginMs: number;
  readonly stediTimeoutMs: number;
  readonly tasks: BackgroundTasks;
  now(): number;
  report(err: Error): void;
  renewed(slot: number): void;
  lost(err: LeaseLostError): void;
  /** The slot was given back in the store. */
  released(slot: number): void;
}

/** First delay between attempts to give back a slot whose release failed; doubles to 2 s. */
const releaseRetryMs = 200;

/** The slots this process holds, and their leases. */
export class LeaseKeeper {
  private readonly held = new Map<number, HeldSlot>();
  /** Releases in flight (see release()). */
  private readonly releasing = new Set<Promise<void>>();

  constructor(private readonly host: KeeperHost) {}

  /** Set by close(): clean-up releases stop retrying and leave their slots to expire. */
  private stopping = false;

  /** Stops retrying failed releases (close). */
  stop(): void {
    this.stopping = true;
  }

  /** Starts keeping a slot a claim just took. */
  adopt(slot: number, owner: string, leaseUntil: number, callStartedAt?: number): HeldSlot {
    const held: HeldSlot = {
      slot,
      owner,
      state: 'held',
      leaseUntil,
      callStartedAt,
      lost: undefined,
      renewTimer: undefined,
      renewing: undefined,
      current: undefined,
    };
    this.held.set(slot, held);
    this.scheduleRenewal(held);
    return held;
  }

  has(slot: number): boolean {
    return this.held.has(slot);
  }

  slots(): number[] {
    return [...this.held.keys()];
  }

  all(): HeldSlot[] {
    return [...this.held.values()];
  }

  get size(): number {
    return this.held.size;
  }

  /** True when a call starting now is covered: the recorded cover reaches past now + skew. */
  covered(held: HeldSlot): boolean {
    return (
      held.callStartedAt !== undefined &&
      held.callStartedAt >= this.host.now() + this.host.skewMarginMs
    );
  }

  /** Makes sure a call starting now is covered on the slot, writing only when it is not. */
  async markCallStart(held: HeldSlot): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await this.settledWrites(held);
      if (held.lost) throw held.lost;
      if (held.state !== 'held') {
        throw new AcquireAbortedError({ cause: new Error(`slot ${held.slot} was given back`) });
      }
      if (this.covered(held)) return;
      if (attempt === 2) {
        // Each write returned too late for its own cover: the store is too slow to start on.
        throw new SemaphoreStoreError('renew', {
          cause: new Error('the call-start write kept returning after the cover it wrote'),
        });
      }
      await this.write(held, true, true);
    }
  }

  /** Renews now; throws LeaseLostError or SemaphoreStoreError. */
  async renew(held: HeldSlot): Promise<void> {
    await this.write(held, false, true);
  }

  /** Renews now when the lease is within the skew margin of its end (a claim that came back late). */
  async ensureLease(held: HeldSlot): Promise<void> {
    if (held.leaseUntil - this.host.skewMarginMs > this.host.now()) return;
    await this.write(held, false, true);
  }

  /**
   * Gives the slot back. A failed release is retried in the background until it lands, the slot
   * would be claimable anyway (lease end, or cover + bound after a call), or close().
   */
  release(held: HeldSlot): Promise<void> {
    if (held.state !== 'held' && held.state !== 'kept') return Promise.resolve();
    held.state = 'releasing';
    // Tracked: close() waits for releases holders started, or the client could be destroyed
    // under them and their slots stay taken until cover + bound.
    const releasing = this.releaseNow(held);
    this.releasing.add(releasing);
    void releasing.finally(() => this.releasing.delete(releasing));
    return releasing;
  }

  /** Resolves once every release started so far has settled. */
  async drain(): Promise<void> {
    while (this.releasing.size > 0) await Promise.allSettled([...this.releasing]);
  }

  private async releaseNow(held: HeldSlot): Promise<void> {
    this.stopRenewing(held);
    await this.settledWrites(held);
    this.stopRenewing(held);
    if (this.held.get(held.slot) === held) this.held.delete(held.slot);
    if (held.lost) return;
    let freed: boolean;
    try {
      freed = await this.host.store.release(this.host.name, held.slot, held.owner);
    } catch (err) {
      this.host.report(asStoreError(err, 'release'));
      held.state = 'released';
      const until = this.expiresAt(held);
      this.host.tasks.run(`releasing slot ${held.slot} again`, async () => {
        if (await this.retryRelease(held.slot, held.owner, until)) this.host.released(held.slot);
      });
      return;
    }
    held.state = 'released';
    // Refused: someone else owns the slot now; there is nothing of ours to announce.
    if (freed) this.host.released(held.slot);
  }

  /**
   * Gives back a slot a claim may or may not have taken (its write failed or timed out: it may
   * still land). Tracked, so close() waits for it and the client outlives it.
   */
  releaseUnknown(
    slot: number,
    owner: string,
    write: { now: number; leaseUntil: number; cover?: number },
  ): void {
    const until = Math.max(
      write.leaseUntil,
      write.cover === undefined ? -Infinity : write.cover + this.host.stediTimeoutMs,
    );
    // The release fences the claim: should the claim land after it, it is refused, rather than
    // taking the slot for an owner nobody tracks until cover + bound.
    this.host.tasks.run(`giving back slot ${slot} after a failed claim`, async () => {
      let freed: boolean;
      try {
        freed = await this.host.store.release(this.host.name, slot, owner, write.now);
      } catch {
        // The store is failing: retry below.
        freed = await this.retryRelease(slot, owner, until, write.now);
      }
      // Refused: another process holds the slot, and the release wrote no fence. The claim may
      // still land once that holder is gone, so the fence is written on its own.
      if (!freed && !this.stopping && this.host.now() < until)
        await this.host.store.fence(this.host.name, slot, write.now);
    });
  }

  /**
   * close() with a call possibly running on the slot: stop renewing and leave the item as it is.
   * The recorded call keeps the slot taken until call start + Stedi's bound, whoever stops, so a
   * rollout with a grace period shorter than a call cannot over-allocate.
   */
  keep(held: HeldSlot): void {
    if (held.state !== 'held') return;
    held.state = 'kept';
    this.stopRenewing(held);
    if (this.held.get(held.slot) === held) this.held.delete(held.slot);
  }

  /** Waits for the slot's writes in flight (renewals, call-start writes) to settle. */
  async settledWrites(held: HeldSlot): Promise<void> {
    while (held.renewing) await held.renewing.catch(() => undefined);
  }

  private stopRenewing(held: HeldSlot): void {
    if (held.renewTimer) clearTimeout(held.renewTimer);
    held.renewTimer = undefined;
  }

  /** When a slot we stop renewing becomes claimable by others anyway (holder's clock). */
  private expiresAt(held: HeldSlot): number {
    return Math.max(
      held.leaseUntil,
      held.callStartedAt === undefined ? -Infinity : held.callStartedAt + this.host.stediTimeoutMs,
    );
  }

  /**
   * Retries a failed release with backoff until it lands, or until the slot would be claimable
   * anyway, or close(). Without it, a slot freed during a DynamoDB outage would stay taken until
   * its call's bound (~90 s) after the store came back. Returns true when it landed.
   */
  private async retryRelease(
    slot: number,
    owner: string,
    until: number,
    fenceAt?: number,
  ): Promise<boolean> {
    for (let delayMs = releaseRetryMs; ; delayMs = Math.min(2_000, delayMs * 2)) {
      await sleep(delayMs);
      if (this.stopping || this.host.now() >= until) return false;
      try {
        // False: someone else owns the slot now, so nothing of ours was freed.
        return await this.host.store.release(this.host.name, slot, owner, fenceAt);
      } catch {
        // Still failing: the next attempt.
      }
    }
  }

  private scheduleRenewal(held: HeldSlot, delayMs = this.host.renewEveryMs): void {
    this.stopRenewing(held);
    if (held.state !== 'held') return;
    held.renewTimer = setTimeout(() => {
      held.renewTimer = undefined;
      this.write(held, false, false).catch(() => undefined);
    }, delayMs);
    held.renewTimer.unref?.();
  }

  /**
   * Extends the lease; a slot that has been in a call (or is starting one) also gets its cover
   * moved to now + coverAheadMs. `rethrow` is false for the background timer, whose failures are
   * reported instead.
   */
  private async write(held: HeldSlot, startingCall: boolean, rethrow: boolean): Promise<void> {
    await this.settledWrites(held);
    if (held.lost) {
      if (rethrow) throw held.lost;
      return;
    }
    if (held.state !== 'held') return;
    const write = (async () => {
      const now = this.host.now();
      const leaseUntil = now + this.host.leaseMs;
      const callStartedAt =
        startingCall || held.callStartedAt !== undefined ? now + this.host.coverAheadMs : undefined;
      let ok: boolean;
      try {
        ok = await this.host.store.renew(
          this.host.name,
          held.slot,
          held.owner,
          leaseUntil,
          callStartedAt,
        );
      } catch (err) {
        // The store did not answer: keep trying, past the lease's end too. Only the store can
        // say the slot was lost (a renewal refused because someone else owns it), and until it
        // answers nothing starts on the slot without a cover that predates the outage, so a
        // DynamoDB outage leaves this process's slots to pick up at once when it returns rather
        // than after cover + Stedi's bound.
        const storeErr = asStoreError(err, 'renew');
        this.host.report(storeErr);
        this.scheduleRenewal(held, this.host.leaseMs / 10);
        throw storeErr;
      }
      if (!ok) {
        this.markLost(held);
        throw held.lost ?? new LeaseLostError(held.slot);
      }
      held.leaseUntil = leaseUntil;
      if (callStartedAt !== undefined) held.callStartedAt = callStartedAt;
      this.scheduleRenewal(held);
      this.host.renewed(held.slot);
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

  private markLost(held: HeldSlot): void {
    if (held.lost || held.state === 'released') return;
    held.lost = new LeaseLostError(
      held.slot,
      `lease on slot ${held.slot} was lost: it was reclaimed by another holder`,
    );
    held.state = 'lost';
    this.stopRenewing(held);
    if (this.held.get(held.slot) === held) this.held.delete(held.slot);
    held.current?.notifyLost(held.lost);
    this.host.lost(held.lost);
  }
}

/** Wraps a store failure as SemaphoreStoreError (unless it is one already). */
export function asStoreError(err: unknown, operation: string): SemaphoreStoreError {
  return err instanceof SemaphoreStoreError
    ? err
    : new SemaphoreStoreError(operation, { cause: err });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}
