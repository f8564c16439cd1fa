/** Which pool a holder draws from: realtime may take any slot, batch only the shared slots. */
export type Pool = 'realtime' | 'batch';

/** One slot item as stored: a slot with no `owner` is free. */
export interface SlotRecord {
  readonly slot: number;
  /** Lease token of the holder; absent when free. */
  readonly owner?: string;
  /** The pool the holder acquired for. */
  readonly pool?: Pool;
  /** When the current holder acquired the slot (holder's clock, epoch ms). */
  readonly acquiredAt?: number;
  /** Until when the lease holds unless renewed (holder's clock, epoch ms). */
  readonly leaseUntil?: number;
  /**
   * The latest Stedi call start this slot covers (holder's clock, epoch ms): set when a call
   * starts, and written up to `callCoverAheadMs` ahead while the holder works through a backlog,
   * so a call may start later without a write. The slot stays taken until this + Stedi's bound.
   */
  readonly callStartedAt?: number;
}

/** Cut-offs, computed with the acquirer's clock, after which a held slot may be taken over. */
export interface ReclaimCutoffs {
  /** A lease that ended before this instant is expired. */
  readonly leaseEndedBefore: number;
  /** A call that started before this instant is over at Stedi too. */
  readonly callStartedBefore: number;
}

/** What a claim writes on the slot it takes. */
export interface ClaimWrite {
  readonly owner: string;
  readonly pool: Pool;
  readonly now: number;
  readonly leaseUntil: number;
  /** Record the Stedi call start with the claim (the caller calls right away). */
  readonly callStartedAt?: number;
  /**
   * The claimer's view showed the slot free: the write then takes it only if it still has no
   * holder other than this owner (a takeover is not tried). Narrower, so never more is granted; DynamoDB evaluates it
   * alike, and dynalite's cost per claim falls by two thirds (its expression parsing dominates).
   */
  readonly seenFree?: boolean;
}

/**
 * The few storage operations the semaphore needs, each one single-item and conditional, so the
 * holders are the slot items themselves and no separate counter can drift from them.
 */
export interface SemaphoreStore {
  /** Every slot item of the semaphore, strongly consistent. Missing items are free slots. */
  listSlots(name: string): Promise<SlotRecord[]>;
  /**
   * Takes `slot` if it is free or reclaimable under `cutoffs` and no release fenced claims sent
   * at or before `write.now`; false otherwise.
   */
  claim(name: string, slot: number, write: ClaimWrite, cutoffs: ReclaimCutoffs): Promise<boolean>;
  /**
   * Extends the lease (and optionally records a call start) if `owner` still holds it and the
   * stored lease and cover are not later than these: a renewal that lands after a newer one (its
   * answer given up on) must never lower the cover a running call relies on.
   */
  renew(
    name: string,
    slot: number,
    owner: string,
    leaseUntil: number,
    callStartedAt?: number,
  ): Promise<boolean>;
  /**
   * Frees the slot if `owner` still holds it (or nobody does). `fenceAt` also voids claims sent
   * at or before that instant that land later: the clean-up of a claim whose outcome is unknown
   * must not be overtaken by the claim itself.
   */
  release(name: string, slot: number, owner: string, fenceAt?: number): Promise<boolean>;
  /**
   * Voids claims sent at or before `fenceAt` that land later, whoever holds the slot now (a
   * fenced release refused because another process held the slot writes no fence).
   */
  fence(name: string, slot: number, fenceAt: number): Promise<void>;
  /** Frees the slot whoever holds it, if reclaimable under `cutoffs` (operator tool). */
  forceRelease(name: string, slot: number, cutoffs: ReclaimCutoffs | null): Promise<boolean>;
}

/**
 * A hint between processes; DynamoDB stays the only source of truth. `released`: a slot was
 * freed. `batch-demand`: batch waits in the `origin` process. `realtime-demand`: a realtime waiter
 * found no slot, so batch holders elsewhere should
 * release instead of handing over to batch, and batch waiters hold back, for `forMs`.
 */
export type ReleaseHint =
  | { readonly kind: 'released'; readonly slot: number }
  | { readonly kind: 'realtime-demand'; readonly forMs: number; readonly origin: string }
  /** A batch waiter found no slot: holders elsewhere keep no more than their fair share. */
  | { readonly kind: 'batch-demand'; readonly origin: string }
  /**
   * Realtime took an idle slot and left fewer idle than the lending headroom: the next batch call
   * to finish anywhere releases its slot instead of handing it to batch.
   */
  | { readonly kind: 'refill'; readonly origin: string };

/** Delivers release hints between processes (Redis pub/sub); optional and best-effort. */
export interface HintChannel {
  publish(name: string, hint: ReleaseHint): Promise<void>;
  /** Subscribes; returns a function that unsubscribes. */
  subscribe(name: string, onHint: (hint: ReleaseHint) => void): Promise<() => Promise<void>>;
}
