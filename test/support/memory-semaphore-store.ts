/**
 * An in-memory SemaphoreStore with the same conditions as the DynamoDB store, and fault
 * injection: latency, errors, responses lost after the write landed, slow responses to writes
 * that landed at once, and hung requests. Its timers are the global ones, so tests drive it with
 * fake timers. The contract tests (store-contract.test.ts) hold it to dynalite's behaviour.
 */
import { isClaimable } from '../../src/shared/semaphore/slot-rules.js';
import type {
  ClaimWrite,
  ReclaimCutoffs,
  SemaphoreStore,
  SlotRecord,
} from '../../src/shared/semaphore/types.js';

/** Store operations faults can target. */
export type StoreOp = 'listSlots' | 'claim' | 'renew' | 'release' | 'fence' | 'forceRelease';

/**
 * A fault for one request. `error`: fails, nothing written. `landsLate`: applied `ms` late (a
 * request held in the network). `lostResponse`: the write lands, then
 * the request fails. `slowResponse`: the write lands at once, the answer comes `ms` later.
 * `hang`: no answer until `resumeHung()`; `lands` says whether its write took effect at once.
 */
export type StoreFault =
  | { readonly kind: 'error' }
  /** The request reaches the store `ms` late: its write lands then, after any deadline. */
  | { readonly kind: 'landsLate'; readonly ms: number }
  | { readonly kind: 'lostResponse' }
  | { readonly kind: 'slowResponse'; readonly ms: number }
  | { readonly kind: 'hang'; readonly lands: boolean };

interface Armed {
  readonly op: StoreOp | '*';
  readonly fault: StoreFault;
  remaining: number;
}

/** The in-memory store; `slots(name)` shows what DynamoDB would hold. */
export class MemorySemaphoreStore implements SemaphoreStore {
  private readonly items = new Map<string, Map<number, SlotRecord>>();
  private readonly armed: Armed[] = [];
  private readonly hung: (() => void)[] = [];
  /** Claims sent at or before this instant are refused (see SemaphoreStore.release). */
  private readonly fences = new Map<string, number>();
  /** Latency of every request, ms (0: answers on the next tick). */
  latencyMs = 0;
  /** Requests by operation. */
  readonly requests: Record<StoreOp, number> = {
    listSlots: 0,
    claim: 0,
    renew: 0,
    release: 0,
    fence: 0,
    forceRelease: 0,
  };
  /** Called after every write that landed, with the semaphore's items (invariant checks). */
  onWrite: ((name: string, slots: SlotRecord[]) => void) | undefined;

  /** Arms `fault` for the next `times` requests of `op` ('*': any). */
  inject(op: StoreOp | '*', fault: StoreFault, times = 1): void {
    this.armed.push({ op, fault, remaining: times });
  }

  /** Disarms every fault not yet used. */
  clearFaults(): void {
    this.armed.length = 0;
  }

  /** Lets every hung request answer. */
  resumeHung(): void {
    for (const resume of this.hung.splice(0)) resume();
  }

  /** The items of semaphore `name`, by slot. */
  slots(name: string): SlotRecord[] {
    return [...(this.items.get(name)?.values() ?? [])].sort((a, b) => a.slot - b.slot);
  }

  listSlots(name: string): Promise<SlotRecord[]> {
    return this.request('listSlots', name, () => ({ result: this.slots(name), wrote: false }));
  }

  claim(name: string, slot: number, write: ClaimWrite, cutoffs: ReclaimCutoffs): Promise<boolean> {
    return this.request('claim', name, () => {
      const item = this.item(name, slot);
      if (write.seenFree && item?.owner !== undefined && item.owner !== write.owner)
        return { result: false, wrote: false };
      if (item?.owner !== undefined && item.owner !== write.owner && !isClaimable(item, cutoffs))
        return { result: false, wrote: false };
      const fence = this.fences.get(`${name}#${slot}`);
      if (fence !== undefined && fence >= write.now) return { result: false, wrote: false };
      this.put(name, {
        slot,
        owner: write.owner,
        pool: write.pool,
        acquiredAt: write.now,
        leaseUntil: write.leaseUntil,
        ...(write.callStartedAt !== undefined ? { callStartedAt: write.callStartedAt } : {}),
      });
      return { result: true, wrote: true };
    });
  }

  renew(
    name: string,
    slot: number,
    owner: string,
    leaseUntil: number,
    callStartedAt?: number,
  ): Promise<boolean> {
    return this.request('renew', name, () => {
      const item = this.item(name, slot);
      if (item?.owner !== owner) return { result: false, wrote: false };
      if ((item.leaseUntil ?? 0) > leaseUntil) return { result: false, wrote: false };
      if (
        callStartedAt !== undefined &&
        item.callStartedAt !== undefined &&
        item.callStartedAt > callStartedAt
      )
        return { result: false, wrote: false };
      this.put(name, {
        ...item,
        leaseUntil,
        ...(callStartedAt !== undefined ? { callStartedAt } : {}),
      });
      return { result: true, wrote: true };
    });
  }

  release(name: string, slot: number, owner: string, fenceAt?: number): Promise<boolean> {
    return this.request('release', name, () => {
      const item = this.item(name, slot);
      if (item?.owner !== undefined && item.owner !== owner) return { result: false, wrote: false };
      if (fenceAt !== undefined && (this.fences.get(`${name}#${slot}`) ?? -Infinity) < fenceAt)
        this.fences.set(`${name}#${slot}`, fenceAt);
      this.put(name, { slot });
      return { result: true, wrote: true };
    });
  }

  fence(name: string, slot: number, fenceAt: number): Promise<void> {
    return this.request('fence', name, () => {
      const k = `${name}#${slot}`;
      if ((this.fences.get(k) ?? -Infinity) < fenceAt) this.fences.set(k, fenceAt);
      return { result: undefined, wrote: false };
    });
  }

  forceRelease(name: string, slot: number, cutoffs: ReclaimCutoffs | null): Promise<boolean> {
    return this.request('forceRelease', name, () => {
      const item = this.item(name, slot);
      // As DynamoDB: with no cutoffs the item must exist; with cutoffs a missing item is free.
      if (cutoffs === null && item === undefined) return { result: false, wrote: false };
      if (cutoffs !== null && !isClaimable(item, cutoffs)) return { result: false, wrote: false };
      this.put(name, { slot });
      return { result: true, wrote: true };
    });
  }

  private item(name: string, slot: number): SlotRecord | undefined {
    return this.items.get(name)?.get(slot);
  }

  private put(name: string, record: SlotRecord): void {
    let slots = this.items.get(name);
    if (!slots) this.items.set(name, (slots = new Map<number, SlotRecord>()));
    slots.set(record.slot, record);
  }

  private takeFault(op: StoreOp): StoreFault | undefined {
    const i = this.armed.findIndex((a) => a.op === op || a.op === '*');
    if (i < 0) return undefined;
    const armed = this.armed[i];
    if (!armed) return undefined;
    if (--armed.remaining <= 0) this.armed.splice(i, 1);
    return armed.fault;
  }

  private async request<T>(
    op: StoreOp,
    name: string,
    apply: () => { result: T; wrote: boolean },
  ): Promise<T> {
    this.requests[op]++;
    const fault = this.takeFault(op);
    await sleep(this.latencyMs);
    if (fault?.kind === 'landsLate') await sleep(fault.ms);
    if (fault?.kind === 'error') throw new Error(`injected ${op} failure`);
    if (fault?.kind === 'hang' && !fault.lands) {
      await new Promise<void>((resume) => this.hung.push(resume));
      throw new Error(`injected ${op} hang ended without an answer`);
    }
    const { result, wrote } = apply();
    if (wrote) this.onWrite?.(name, this.slots(name));
    if (fault?.kind === 'lostResponse') throw new Error(`injected ${op} response lost`);
    if (fault?.kind === 'slowResponse') await sleep(fault.ms);
    if (fault?.kind === 'hang') {
      await new Promise<void>((resume) => this.hung.push(resume));
      throw new Error(`injected ${op} hang ended without an answer`);
    }
    return result;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
