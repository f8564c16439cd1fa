/**
 * Credentials are kept as SHA-256 digests and compared in constant time: both sides are hashed
 * first, and every entry is compared, so timing reveals neither which entry matched nor how much.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The digest a credential is stored and compared as. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The entry whose digest matches `presented`, checking every entry. */
export function findBySecret<T extends { readonly digest: Buffer }>(
  entries: readonly T[],
  presented: string,
): T | undefined {
  const d = secretDigest(presented);
  let found: T | undefined;
  for (const entry of entries) if (timingSafeEqual(entry.digest, d)) found = entry;
  return found;
}
