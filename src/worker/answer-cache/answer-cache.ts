/**
 * The answer cache and in-flight coalescing, in Redis. A check is keyed by a keyed digest (the
 * data cipher's HMAC) of the request as sent to Stedi, less the X12 transport ids, plus today's
 * date when it names no date of service (Stedi then answers for today): no patient value appears
 * in a key. Entries hold the sealed answer and summary, so they are encrypted like every record,
 * and expire after ANSWER_CACHE_MAX_AGE_SECONDS.
 *
 * Coalescing: the first check of a key takes a short lease (`inflight`, SET NX, bounded by
 * Stedi's time limit); identical checks arriving meanwhile wait for its answer to land in the
 * cache instead of calling. When the leader ends without a cacheable answer (failure, AAA 42/80,
 * crash: its lease lapses) the followers call themselves.
 */
import type { Redis } from 'ioredis';
import type { CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';

/** What is kept of a definitive answer. */
export interface CachedAnswer {
  readonly result: CheckJobResult;
  /** When the answer was stored (epoch ms). */
  readonly storedAt: number;
}

const TRANSPORT_IDS = new Set(['controlNumber', 'submitterTransactionIdentifier']);

/** JSON with object keys sorted at every level, transport ids left out. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => !TRANSPORT_IDS.has(k))
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** Whether the request names a date of service (either endpoint's shape). */
function namesDateOfService(body: Record<string, unknown>): boolean {
  const text = JSON.stringify(body);
  return /"(beginningDateOfService|dateOfService)"|"service":\{"(start|end)"/.test(text);
}

/** The cache and the in-flight leases. */
export class AnswerCache {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly cipher: ValueCipher,
    /** Longest an answer is kept and served, in seconds. */
    readonly maxAgeSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key of a request as sent to `endpoint`. */
  keyOf(endpoint: string, body: Record<string, unknown>): string {
    const day = namesDateOfService(body) ? '' : new Date(this.now()).toISOString().slice(0, 10);
    return this.cipher.digest(`answer-cache|${endpoint}|${day}|${canonical(body)}`);
  }

  /** A stored answer no older than `maxAgeSeconds` (and the cache's own bound). */
  async get(key: string, maxAgeSeconds = this.maxAgeSeconds): Promise<CachedAnswer | undefined> {
    const raw = await this.redis.get(this.entryKey(key));
    if (!raw) return undefined;
    const entry = JSON.parse(raw) as { storedAt: number; result: CheckJobResult };
    const bound = Math.min(maxAgeSeconds, this.maxAgeSeconds) * 1000;
    return this.now() - entry.storedAt <= bound ? entry : undefined;
  }

  /** Stores a definitive answer (its parts are already sealed). */
  async put(key: string, result: CheckJobResult): Promise<void> {
    const entry = { storedAt: this.now(), result };
    await this.redis.set(this.entryKey(key), JSON.stringify(entry), 'EX', this.maxAgeSeconds);
  }

  /** Takes the in-flight lease of `key` for `owner`; false when another check holds it. */
  async lead(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.leaseKey(key), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Gives up the lease of `key` if `owner` still holds it. */
  async endLead(key: string, owner: string): Promise<void> {
    await this.redis.eval(
      "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
      1,
      this.leaseKey(key),
      owner,
    );
  }

  private entryKey(key: string): string {
    return `${this.prefix}:answer-cache:${key}`;
  }

  private leaseKey(key: string): string {
    return `${this.prefix}:answer-inflight:${key}`;
  }
}
