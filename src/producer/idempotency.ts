/**
 * Idempotency-Key support, per API key: the first request with a key reserves it with a hash of
 * its body and the id it will enqueue under (a check's, or a batch's); a repeat with the same body
 * gets that id, a repeat with another body is a conflict. SET NX makes the reservation atomic
 * across producers.
 *
 * A reservation is never taken back, even when the enqueue fails or times out: its outcome is then
 * unknown (Redis may still run it), and every enqueue for the key uses the reserved id, which
 * BullMQ adds at most once. So a client retrying with the key gets one check, whatever happened.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';

/** Outcome of reserving an idempotency key. */
export type Reservation =
  | { readonly kind: 'new' }
  | { readonly kind: 'existing'; readonly id: string }
  | { readonly kind: 'conflict' };

/** Idempotency records in Redis, kept for `ttlSeconds`. */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    /** Keyed digest of bodies: a plain hash of patient data could be reversed by guessing. */
    private readonly cipher: ValueCipher,
  ) {}

  /** Reserves `key` of `keyName` for `id` unless it was used before. */
  async reserve(keyName: string, key: string, body: unknown, id: string): Promise<Reservation> {
    const hash = this.cipher.digest(JSON.stringify(body));
    const redisKey = this.redisKey(keyName, key);
    const set = await this.redis.set(redisKey, `${hash} ${id}`, 'EX', this.ttlSeconds, 'NX');
    if (set === 'OK') return { kind: 'new' };
    const existing = (await this.redis.get(redisKey)) ?? '';
    const [existingHash, existingId] = existing.split(' ');
    if (existingHash === hash && existingId) return { kind: 'existing', id: existingId };
    return { kind: 'conflict' };
  }

  private redisKey(keyName: string, key: string): string {
    // The key is hashed: clients sometimes put identifiers in it.
    return `${this.prefix}:idem:${keyName}:${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
  }
}
