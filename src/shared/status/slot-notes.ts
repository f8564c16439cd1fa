/**
 * Who is calling Stedi on each slot, for operators (the producer's /admin/status). The semaphore's
 * slot items say which pool holds a slot and since when, but not for which payer and tenant: a
 * worker notes that in Redis when a call starts. A note is only a label: DynamoDB stays the truth
 * on who holds a slot, and a note counts only while its lease token is the slot's current owner.
 * Notes expire after Stedi's bound, so nothing needs cleaning up.
 *
 *   {prefix}:status:slot:{semaphore}:{slot}   JSON SlotNote, PX = Stedi's bound + 5 s
 *
 * Payer ids, API key names and check ids only: never patient data.
 */
import type { Redis } from 'ioredis';
import type { Pool } from '../semaphore/index.js';

/** One Stedi call on one slot. */
export interface SlotNote {
  readonly slot: number;
  /** The lease token on the slot item while the call runs. */
  readonly owner: string;
  readonly pool: Pool;
  readonly payer: string;
  readonly tenant: string;
  readonly checkId: string;
  /** When the call started (the worker's clock, epoch ms). */
  readonly callStartedAt: number;
}

/** Writes and reads the notes of one semaphore. */
export class SlotNotes {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly semaphoreName: string,
    /** How long a note lasts: no call holds its slot longer than Stedi's bound. */
    private readonly ttlMs: number,
  ) {}

  /** Notes a call that is starting on its slot. */
  async record(note: SlotNote): Promise<void> {
    await this.redis.set(this.key(note.slot), JSON.stringify(note), 'PX', this.ttlMs);
  }

  /** The notes of `slots`, by slot number (slots without a note are missing). */
  async read(slots: readonly number[]): Promise<Map<number, SlotNote>> {
    const out = new Map<number, SlotNote>();
    if (slots.length === 0) return out;
    const values = await this.redis.mget(slots.map((s) => this.key(s)));
    values.forEach((value, i) => {
      if (value === null) return;
      try {
        out.set(slots[i] ?? -1, JSON.parse(value) as SlotNote);
      } catch {
        // A note is a label for operators; an unreadable one is shown as no note.
      }
    });
    return out;
  }

  private key(slot: number): string {
    return `${this.prefix}:status:slot:${this.semaphoreName}:${slot}`;
  }
}
