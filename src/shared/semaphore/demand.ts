/**
 * Cross-process demand and fair share: what other processes want, as learned from hints, and
 * what batch in this process should therefore leave alone.
 *
 * - realtime-demand: a realtime waiter elsewhere found no slot; batch here yields for `forMs`
 *   (holders release instead of handing over to batch, waiters hold back).
 * - batch-demand: batch waits elsewhere; this process keeps no more than its fair share.
 * - refill: realtime took an idle slot below the lending headroom; the next batch call to finish
 *   here releases its slot instead of handing it to batch.
 * Hints are best-effort (Redis pub/sub); DynamoDB stays the only source of truth.
 */
import type { HintChannel, Pool, ReleaseHint } from './types.js';

/** What demand tracking needs from its semaphore. */
export interface DemandHost {
  readonly name: string;
  readonly capacity: number;
  readonly instanceId: string;
  readonly hints: HintChannel | undefined;
  now(): number;
  report(err: Error): void;
}

/** Demand from other processes, and the lending state batch here must respect. */
export class Demand {
  /** Until when batch yields to realtime waiting elsewhere (this process's clock). */
  private batchYieldUntil = 0;
  private readonly lastSentAt: Record<Pool, number> = { realtime: -Infinity, batch: -Infinity };
  /** Other processes seen waiting for batch slots, with when (this process's clock). */
  private readonly batchPeers = new Map<string, number>();
  /** Idle slots the lending policy keeps for realtime (batch does not take the last ones). */
  headroom = 0;
  /** Batch releases owed to refill the headroom after realtime took idle slots. */
  refillsOwed = 0;
  /** Slots batch never claims (the floor). */
  reserved: number;
  /** How long a realtime-demand hint makes batch yield. */
  demandMs: number;

  constructor(
    private readonly host: DemandHost,
    reserved: number,
    demandMs: number,
  ) {
    this.reserved = reserved;
    this.demandMs = demandMs;
  }

  /** Sets the headroom; returns true when batch may now take more (a pump is due). */
  setHeadroom(slots: number): boolean {
    const next = Math.max(0, Math.min(this.host.capacity, Math.floor(slots)));
    if (next === this.headroom) return false;
    const lent = next < this.headroom;
    // A larger headroom is taken back from batch as its calls finish, as realtime's refills are;
    // a smaller one owes that much less.
    this.refillsOwed = Math.max(
      0,
      Math.min(this.host.capacity, this.refillsOwed + next - this.headroom),
    );
    this.headroom = next;
    return lent;
  }

  /** Sets the floor; returns true when batch may now take more. */
  setReserved(slots: number): boolean {
    const next = Math.max(0, Math.min(this.host.capacity - 1, Math.floor(slots)));
    if (next === this.reserved) return false;
    const lent = next < this.reserved;
    this.reserved = next;
    return lent;
  }

  /** The true idle count from a fresh read settles what refills are still owed. */
  settleRefills(idle: number): void {
    if (this.headroom === 0 || idle >= this.headroom) this.refillsOwed = 0;
  }

  batchYielding(): boolean {
    return this.batchYieldUntil > this.host.now();
  }

  /** When batch stops yielding (this process's clock). */
  get yieldEndsAt(): number {
    return this.batchYieldUntil;
  }

  /**
   * The most slots this process should hold while batch waits in other processes too: the
   * shared slots split evenly over the processes seen waiting in the last second, so hand-over
   * cannot gather the whole allocation into one process (whose crash would then idle it all
   * until Stedi's bound). With no other process waiting, there is no limit.
   */
  fairShare(): number {
    const now = this.host.now();
    for (const [origin, seenAt] of this.batchPeers)
      if (now - seenAt > 1_000) this.batchPeers.delete(origin);
    if (this.batchPeers.size === 0) return Infinity;
    const shared = this.host.capacity - this.reserved;
    return Math.max(1, Math.ceil(shared / (this.batchPeers.size + 1)));
  }

  /**
   * Where this process starts its search for a free shared slot while other processes wait for
   * batch too: its rank among them (instance ids sorted) times an even part of the shared slots.
   * Processes that know the same peers then search disjoint runs of slots and, staying within
   * their fair share, rarely send a claim that another process's claim beats (with random
   * starting points at L = 15, half the claims at start-up lost). Undefined when alone.
   */
  spreadOffset(): number | undefined {
    if (this.fairShare() === Infinity) return undefined;
    const ids = [...this.batchPeers.keys(), this.host.instanceId].sort();
    const shared = this.host.capacity - this.reserved;
    return Math.floor((ids.indexOf(this.host.instanceId) * shared) / ids.length);
  }

  /**
   * Takes in a hint. Returns the slot a `released` hint freed (the caller re-reads it), or
   * undefined; `invalidatesView` is set when realtime took a slot the cached view may show idle.
   */
  onHint(hint: ReleaseHint): { released?: number; invalidatesView?: boolean } {
    const now = this.host.now();
    switch (hint.kind) {
      case 'batch-demand':
        if (hint.origin !== this.host.instanceId) this.batchPeers.set(hint.origin, now);
        return {};
      case 'realtime-demand':
        if (hint.origin !== this.host.instanceId)
          this.batchYieldUntil = Math.max(this.batchYieldUntil, now + hint.forMs);
        return {};
      case 'refill':
        this.refillsOwed = Math.min(this.host.capacity, this.refillsOwed + 1);
        // Re-read before the next grant, or the slot a batch holder gives back for the refill
        // is claimed again by our batch.
        return { invalidatesView: true };
      case 'released':
        // Any release, ours included (pub/sub echoes it), refills the headroom by one.
        if (this.refillsOwed > 0) this.refillsOwed--;
        return { released: hint.slot };
    }
  }

  /**
   * A local waiter found every slot taken. Realtime: ask other processes to stop handing shared
   * slots to batch for a moment. Batch: let them know we wait, so none keeps more than its share.
   */
  announce(pool: Pool): void {
    const now = this.host.now();
    if (!this.host.hints || now - this.lastSentAt[pool] < this.demandMs / 2) return;
    this.lastSentAt[pool] = now;
    this.publish(
      pool === 'realtime'
        ? { kind: 'realtime-demand', forMs: this.demandMs, origin: this.host.instanceId }
        : { kind: 'batch-demand', origin: this.host.instanceId },
      `${pool} demand`,
    );
  }

  /** Realtime left fewer idle slots than the headroom: ask for one batch release anywhere. */
  announceRefill(): void {
    this.publish({ kind: 'refill', origin: this.host.instanceId }, 'a refill hint');
  }

  /** Publishes a hint; a failure is reported, never thrown (hints are an optimisation). */
  publish(hint: ReleaseHint, what: string): void {
    this.host.hints?.publish(this.host.name, hint).catch((err: unknown) =>
      this.host.report(
        new Error(
          `publishing ${what} failed: ${err instanceof Error ? err.message : String(err)}`,
          {
            cause: err,
          },
        ),
      ),
    );
  }
}
