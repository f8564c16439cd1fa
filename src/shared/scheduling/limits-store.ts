/**
 * Run-time limit overrides in Redis, one JSON document per deployment. Writers replace it whole
 * (PUT semantics); readers poll it, which costs one GET a second per process and needs no
 * subscription to survive a Redis restart: a change reaches every worker within one poll.
 */
import type { Redis } from 'ioredis';
import {
  applyOverrides,
  limitOverridesSchema,
  type EffectiveLimits,
  type LimitOverrides,
} from './limits.js';

/** What is stored: the overrides, and who changed them when. */
export interface StoredOverrides {
  readonly overrides: LimitOverrides;
  readonly updatedAt: string | undefined;
  readonly updatedBy: string | undefined;
}

/** Reads and writes the overrides document. */
export class LimitsStore {
  private readonly key: string;

  constructor(
    private readonly redis: Pick<Redis, 'get' | 'set'>,
    prefix: string,
  ) {
    this.key = `${prefix}:limits`;
  }

  /** The stored overrides; an unreadable document counts as none (and is reported by `raw`). */
  async get(): Promise<StoredOverrides> {
    return parseStored(await this.redis.get(this.key));
  }

  /** Replaces the overrides. */
  async set(overrides: LimitOverrides, actor: string, now = new Date()): Promise<StoredOverrides> {
    const stored: StoredOverrides = {
      overrides,
      updatedAt: now.toISOString(),
      updatedBy: actor,
    };
    await this.redis.set(this.key, JSON.stringify(stored));
    return stored;
  }

  /**
   * Polls the document every `intervalMs` and calls `onChange` with the limits in force whenever
   * it changed (and once at start). Errors go to `onError`; the last good limits stay in force.
   */
  watch(
    base: EffectiveLimits,
    intervalMs: number,
    onChange: (limits: EffectiveLimits) => void,
    onError: (err: Error) => void,
  ): LimitsWatch {
    let last: string | null | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let polling: Promise<void> = Promise.resolve();
    const poll = async () => {
      try {
        const raw = await this.redis.get(this.key);
        if (raw !== last) {
          last = raw;
          onChange(applyOverrides(base, parseStored(raw).overrides));
        }
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)));
      }
    };
    const loop = () => {
      polling = poll().finally(() => {
        if (stopped) return;
        timer = setTimeout(loop, intervalMs);
        timer.unref();
      });
    };
    loop();
    return {
      ready: () => polling,
      pollNow: async () => {
        await polling;
        await poll();
      },
      close: async () => {
        stopped = true;
        clearTimeout(timer);
        await polling;
      },
    };
  }
}

/** A running poll of the overrides. */
export interface LimitsWatch {
  /** Resolves after the poll in progress (the first one, right after `watch`). */
  ready(): Promise<void>;
  /** Polls at once (tests, and after a local write). */
  pollNow(): Promise<void>;
  close(): Promise<void>;
}

function parseStored(raw: string | null): StoredOverrides {
  if (raw === null) return { overrides: {}, updatedAt: undefined, updatedBy: undefined };
  try {
    const doc = JSON.parse(raw) as Partial<StoredOverrides>;
    const parsed = limitOverridesSchema.safeParse(doc.overrides ?? {});
    return {
      overrides: parsed.success ? parsed.data : {},
      updatedAt: typeof doc.updatedAt === 'string' ? doc.updatedAt : undefined,
      updatedBy: typeof doc.updatedBy === 'string' ? doc.updatedBy : undefined,
    };
  } catch {
    return { overrides: {}, updatedAt: undefined, updatedBy: undefined };
  }
}
