/** Tools of the patient-data leak test: a capturing logger, a plaintext cipher, and a Redis dump. */
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Sealed, ValueCipher } from '../../src/shared/crypto/data-cipher.js';
import { createLogger, type Logger } from '../../src/shared/logger.js';

/** A trace-level logger whose every line is kept in `lines`. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'trace' }, stream), lines };
}

/** "Encryption switched off": stores JSON in clear. Exists only to prove the leak test catches it. */
export class PlaintextCipher implements ValueCipher {
  seal(value: unknown): Sealed {
    return { k: 'plain', iv: '', tag: '', ct: JSON.stringify(value) };
  }
  open(sealed: Sealed): unknown {
    return JSON.parse(sealed.ct);
  }
  digest(text: string): string {
    return text;
  }
}

/** Every key under `prefix` with its whole value as text, whatever its type. */
export async function dumpRedis(redis: Redis, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '500');
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      // Gone since the scan (a lock or a short-lived key): nothing left to leak.
      if (type === 'none') continue;
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, '0', '-1', 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      out.set(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return out;
}

/**
 * Fragments of a canary that still identify it: every run of `minLength` characters of a value
 * with letters (a member id with its first characters cut off is still a leak), and the whole
 * value for ones without letters (dates: runs like `1961-0` occur by chance in timestamps and
 * Redis stream ids such as `1765151231961-0`).
 */
export function canaryFragments(canary: string, minLength = 6): string[] {
  if (!/[a-z]/i.test(canary) || canary.length <= minLength) return [canary];
  const out = new Set<string>();
  for (let i = 0; i + minLength <= canary.length; i++) out.add(canary.slice(i, i + minLength));
  return [...out];
}

/** Places (labelled texts) where any canary, or a fragment of one, appears, case-insensitively. */
export function findCanaries(
  texts: Iterable<[string, string]>,
  canaries: readonly string[],
): string[] {
  const pieces = canaries.map((c) => ({
    canary: c,
    fragments: canaryFragments(c).map((f) => f.toUpperCase()),
  }));
  const found: string[] = [];
  for (const [where, text] of texts) {
    const upper = text.toUpperCase();
    for (const { canary, fragments } of pieces) {
      const hit = fragments.find((f) => upper.includes(f));
      if (hit !== undefined) found.push(`${where}: ${canary} (as ${hit})`);
    }
  }
  return found;
}
