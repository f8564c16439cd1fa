/**
 * Run-time limit overrides in Redis, one JSON document per deployment. Writers replace it whole
 * (PUT semantics); readers poll it, which costs one GET a second per process and needs no
 * subscription to survive a Redis restart: a change reaches every worker within one poll.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import {
  applyOverrides,
  limitOverridesSchema,
  tenantLimitSchema,
  type EffectiveLimits,
  type LimitOverrides,
  type TenantLimit,
} from './limits.js';

const tenantDefaultsSchema = z.record(z.string(), tenantLimitSchema);

/** What is stored: the overrides, and who changed them when. */
export interface StoredOverrides {
  readonly overrides: LimitOverrides;
  readonly updatedAt: string | undefined;
  readonly updatedBy: string | undefined;
}

/** Reads and writes the overrides document. */
export class LimitsStore {
  private readonly key: string;
  private readonly tenantDefaultsKey: string;

  constructor(
    private readonly redis: Pick<Redis, 'get' | 'set' | 'mget'>,
    prefix: string,
  ) {
    this.key = `${prefix}:limits`;
    this.tenantDefaultsKey = `${prefix}:limits:tenant-defaults`;
  }

  /**
   * Publishes the tenant weights and limits configured in API_KEYS, which only producers read, so
   * workers enforce them too (run-time overrides still win).
   */
  async publishTenantDefaults(tenants: Readonly<Record<string, TenantLimit>>): Promise<void> {
    await this.redis.set(this.tenantDefaultsKey, JSON.stringify(tenants));
  }

  /** The stored overrides; an unreadable document counts as none (watch() reports it). */
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
    let last: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let polling: Promise<void> = Promise.resolve();
    const poll = async () => {
      try {
        const [raw, tenantsRaw] = await this.redis.mget(this.key, this.tenantDefaultsKey);
        const seen = `${raw ?? ''}\n${tenantsRaw ?? ''}`;
        if (seen !== last) {
          last = seen;
          const stored = parseStored(raw ?? null);
          if (raw && stored.updatedAt === undefined)
            onError(new Error(`the limits document at ${this.key} is unreadable: it is ignored`));
          const defaults = tenantDefaultsSchema.safeParse(JSON.parse(tenantsRaw ?? '{}'));
          const withTenants: EffectiveLimits = {
            ...base,
            tenants: { ...(defaults.success ? defaults.data : {}), ...base.tenants },
          };
          onChange(applyOverrides(withTenants, stored.overrides));
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
