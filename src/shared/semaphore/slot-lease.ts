/**
 * A holder's handle on one semaphore slot. The slot's DynamoDB ownership (token, lease, renewal
 * timer) lives in a HeldSlot that can outlive one handle: when a holder releases while a local
 * waiter could use the slot, the HeldSlot is handed to the waiter under a new handle, with no
 * write to DynamoDB.
 *
 * HeldSlot states: held (renewed) -> releasing -> released | lost (a renewal the store refused:
 * someone else owns it) | kept (close() while a call may run: renewals stop, the recorded call keeps the
 * slot taken until its bound, and nobody releases it early).
 */
import { AcquireAbortedError } from '../errors/acquire-aborted-error.js';
import { CallCoverLapsedError } from '../errors/call-cover-lapsed-error.js';
import { LeaseLostError } from '../errors/lease-lost-error.js';
import type { Pool } from './types.js';

/** What a lease handle needs from its semaphore. */
export interface LeaseHost {
  markCallStart(held: HeldSlot): Promise<void>;
  /** True when a call starting now is covered by the slot's recorded cover (no I/O). */
  covered(held: HeldSlot): boolean;
  renew(held: HeldSlot): Promise<void>;
  finish(lease: SlotLease): Promise<void>;
  keep(lease: SlotLease): void;
}

/** Where a HeldSlot stands; only a `held` slot is renewed or handed over. */
export type HeldState = 'held' | 'releasing' | 'released' | 'lost' | 'kept';

/** DynamoDB ownership of one slot by this process. */
export interface HeldSlot {
  readonly slot: number;
  /** Lease token written on the slot item. */
  readonly owner: string;
  state: HeldState;
  /** Lease end as last written (this process's clock, epoch ms). */
  leaseUntil: number;
  callStartedAt: number | undefined;
  lost: LeaseLostError | undefined;
  renewTimer: NodeJS.Timeout | undefined;
  renewing: Promise<void> | undefined;
  /** The handle currently using the slot. */
  current: SlotLease | undefined;
}

/**
 * A granted slot: call `markCallStart()` before the Stedi call, `assertCovered()` at the moment
 * its request is sent, and `release()` after.
 */
export class SlotLease {
  private done = false;
  private calling = false;
  private readonly lostListeners = new Set<(err: LeaseLostError) => void>();
  private readonly lostController = new AbortController();

  constructor(
    private readonly host: LeaseHost,
    /** @internal */ readonly held: HeldSlot,
    /** The pool this holder acquired for. */
    readonly pool: Pool,
    /** When this handle was granted (epoch ms). */
    readonly grantedAt: number,
    /** True when the slot came from a finishing local holder rather than DynamoDB. */
    readonly handedOver: boolean,
  ) {}

  /** The slot number (0 .. L-1). */
  get slot(): number {
    return this.held.slot;
  }

  /** The lease token written on the slot item. */
  get owner(): string {
    return this.held.owner;
  }

  /** Set once the slot was found reclaimed; no call may start on a lost slot. */
  get lost(): LeaseLostError | undefined {
    return this.held.lost;
  }

  /** Aborts when the lease is lost, for code that wants to stop its own work then. */
  get lostSignal(): AbortSignal {
    return this.lostController.signal;
  }

  /** True once a call start was asked for: from then on the call may be running at Stedi. */
  get callStarted(): boolean {
    return this.calling;
  }

  /** Records the start of a Stedi call on the slot; throws LeaseLostError if the slot was lost. */
  async markCallStart(): Promise<void> {
    this.assertUsable();
    // Set before the write: if the process stops while it is in flight, the call may still start.
    this.calling = true;
    await this.host.markCallStart(this.held);
    this.assertUsable();
  }

  /**
   * Throws unless a call sent now is covered: the slot is still ours and its recorded cover
   * reaches past now + the skew margin. Synchronous, so the Stedi client can run it in the same
   * step as it writes the request: awaits between `markCallStart()` and the send (Redis, the
   * HTTP client's own steps) are where a stall would otherwise slip a call past its cover.
   * CallCoverLapsedError means nothing was sent and `markCallStart()` may cover it again.
   */
  assertCovered(): void {
    this.assertUsable();
    if (this.held.state !== 'held') {
      throw new AcquireAbortedError({ cause: new Error(`slot ${this.slot} was given back`) });
    }
    if (!this.host.covered(this.held)) throw new CallCoverLapsedError(this.slot);
  }

  /** Renews the lease now (the background timer does this on its own). */
  async renewNow(): Promise<void> {
    this.assertUsable();
    await this.host.renew(this.held);
  }

  /** Registers a callback for the loss of this lease; called at most once. */
  onLost(listener: (err: LeaseLostError) => void): () => void {
    if (this.held.lost) {
      listener(this.held.lost);
      return () => undefined;
    }
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** Gives the slot back (or to a local waiter); safe to call more than once, or after keepForCall. */
  async release(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.lostListeners.clear();
    await this.host.finish(this);
  }

  /**
   * Ends this handle without freeing the slot: the call was sent and no answer will come (a reset
   * connection), so it may still run at Stedi. Renewals stop and the recorded call keeps the slot
   * taken until its bound, as on close().
   */
  keepForCall(): void {
    if (this.done) return;
    this.done = true;
    this.lostListeners.clear();
    this.host.keep(this);
  }

  /** True once released. */
  get released(): boolean {
    return this.done;
  }

  /** @internal Called by the semaphore when renewal finds the slot taken. */
  notifyLost(err: LeaseLostError): void {
    this.lostController.abort(err);
    for (const listener of this.lostListeners) listener(err);
    this.lostListeners.clear();
  }

  private assertUsable(): void {
    if (this.done) throw new Error(`lease on slot ${this.slot} was already released`);
    if (this.held.lost) throw this.held.lost;
  }
}
