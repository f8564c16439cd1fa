/**
 * The answer cache and in-flight coalescing, in Redis. A check is keyed by a keyed digest (the
 * data cipher's HMAC) of its tenant and the request as sent to Stedi, less the X12 transport ids,
 * plus today's date when it names no date of service (Stedi then answers for today): no patient
 * value appears in a key. Entries hold the sealed answer and summary, so they are encrypted like every record,
 * and expire after ANSWER_CACHE_MAX_AGE_SECONDS.
 *
 * Coalescing: the first check of a key takes a short lease (`inflight`, SET NX, bounded by
 * Stedi's time limit); identical checks arriving meanwhile wait for its answer to land in the
 * cache instead of calling. When the leader ends without a cacheable answer (failure, AAA 42/80,
 * crash: its lease lapses) the followers call themselves.
 */
import type { Redis } from 'ioredis';
import type { CheckJobResult } from '../../shared/check-job.js';
import { RedisScript } from '../../shared/clients/redis-script.js';
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

// KEYS: lease, entry. ARGV: owner, lease ms. The lease taken or not, and the entry as it is then.
const leadScript = new RedisScript(
  `
local leader = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') and 1 or 0
return {leader, redis.call('GET', KEYS[2])}
`,
  2,
);

// KEYS: entry, lease. ARGV: entry, seconds, owner ('' when not leading). The lease ends first, so
// a refused write (maxmemory) still lets the followers call at once.
const putScript = new RedisScript(
  `
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
`,
  2,
);

const endLeadScript = new RedisScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
  1,
);

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

  /**
   * The key of a request of `tenant` (the API key that submitted it) as sent to `endpoint`.
   * Answers are shared within a tenant only: two clinics on one Stedi account never get each
   * other's answers, nor learn from a hit that the other checked this patient.
   */
  keyOf(tenant: string, endpoint: string, body: Record<string, unknown>): string {
    const day = namesDateOfService(body) ? '' : new Date(this.now()).toISOString().slice(0, 10);
    return this.cipher.digest(
      `answer-cache|${JSON.stringify(tenant)}|${endpoint}|${day}|${canonical(body)}`,
    );
  }

  /** A stored answer no older than `maxAgeSeconds` (and the cache's own bound). */
  async get(key: string, maxAgeSeconds = this.maxAgeSeconds): Promise<CachedAnswer | undefined> {
    return this.fresh(await this.redis.get(this.entryKey(key)), maxAgeSeconds);
  }

  /**
   * Stores a definitive answer (its parts are already sealed), and ends `leadOwner`'s lease of
   * `key` in the same round trip when given.
   */
  async put(key: string, result: CheckJobResult, leadOwner?: string): Promise<void> {
    const entry = { storedAt: this.now(), result };
    await putScript.run(
      this.redis,
      [this.entryKey(key), this.leaseKey(key)],
      [JSON.stringify(entry), this.maxAgeSeconds, leadOwner ?? ''],
    );
  }

  /**
   * Takes the in-flight lease of `key` for `owner` (`leader` false when another check holds it),
   * and reads the stored answer (as `get`) in the same round trip: an identical check's answer
   * may land while this one waits, or just before it takes the lease.
   */
  async lead(
    key: string,
    owner: string,
    ttlMs: number,
    maxAgeSeconds = this.maxAgeSeconds,
  ): Promise<{ leader: boolean; stored: CachedAnswer | undefined }> {
    const [leader, raw] = (await leadScript.run(
      this.redis,
      [this.leaseKey(key), this.entryKey(key)],
      [owner, ttlMs],
    )) as [number, string | null];
    return { leader: leader === 1, stored: this.fresh(raw, maxAgeSeconds) };
  }

  /** Gives up the lease of `key` if `owner` still holds it. */
  async endLead(key: string, owner: string): Promise<void> {
    await endLeadScript.run(this.redis, [this.leaseKey(key)], [owner]);
  }

  private fresh(raw: string | null, maxAgeSeconds: number): CachedAnswer | undefined {
    if (!raw) return undefined;
    const entry = JSON.parse(raw) as CachedAnswer;
    const bound = Math.min(maxAgeSeconds, this.maxAgeSeconds) * 1000;
    return this.now() - entry.storedAt <= bound ? entry : undefined;
  }

  private entryKey(key: string): string {
    return `${this.prefix}:answer-cache:${key}`;
  }

  private leaseKey(key: string): string {
    return `${this.prefix}:answer-inflight:${key}`;
  }
}
