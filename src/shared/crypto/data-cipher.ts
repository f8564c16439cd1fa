/**
 * Encryption at rest of patient data in Redis: AES-256-GCM (Node's crypto), a fresh 12-byte IV per
 * record, and the key id on every record, so keys rotate: the first configured key encrypts, every
 * configured key decrypts. The key id is bound as additional authenticated data.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { commaList } from '../comma-list.js';
import { ConfigError } from '../errors/config-error.js';
import { DecryptionError } from '../errors/decryption-error.js';

/** An encrypted value as stored in job data. */
export interface Sealed {
  /** Key id. */
  readonly k: string;
  readonly iv: string;
  readonly tag: string;
  readonly ct: string;
}

/** Seals and opens JSON values; implemented by DataCipher (and by a plaintext one in tests only). */
export interface ValueCipher {
  seal(value: unknown): Sealed;
  open(sealed: Sealed): unknown;
  /** A keyed digest, for comparing values without storing them (idempotency). */
  digest(text: string): string;
}

/** A data key: its id and 32 bytes. */
export interface DataKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Parses `id:base64key,...` (first key encrypts); throws ConfigError naming the bad entry. */
export function parseDataKeys(spec: string, variable = 'DATA_ENCRYPTION_KEYS'): DataKey[] {
  const keys = commaList(spec).map((entry, i) => {
    const [id, b64] = entry.split(':');
    const key = Buffer.from(b64 ?? '', 'base64');
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
      throw new ConfigError([
        `${variable}: entry ${i + 1} must be id:<32 bytes in base64> (openssl rand -base64 32)`,
      ]);
    }
    return { id, key };
  });
  if (keys.length === 0) throw new ConfigError([`${variable}: no key given`]);
  return keys;
}

/** AES-256-GCM with key rotation. */
export class DataCipher implements ValueCipher {
  private readonly byId: ReadonlyMap<string, Buffer>;
  private readonly active: DataKey;

  constructor(keys: readonly DataKey[]) {
    const [active] = keys;
    if (!active) throw new ConfigError(['DATA_ENCRYPTION_KEYS: no key given']);
    this.active = active;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  seal(value: unknown): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.active.key, iv);
    cipher.setAAD(Buffer.from(this.active.id));
    const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return {
      k: this.active.id,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ct: ct.toString('base64'),
    };
  }

  open(sealed: Sealed): unknown {
    const key = this.byId.get(sealed.k);
    if (!key) throw new DecryptionError(`no data key with id "${sealed.k}" is configured`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAAD(Buffer.from(sealed.k));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      const text = Buffer.concat([
        decipher.update(Buffer.from(sealed.ct, 'base64')),
        decipher.final(),
      ]).toString('utf8');
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new DecryptionError(`record under key "${sealed.k}" failed authentication`, {
        cause: err,
      });
    }
  }

  digest(text: string): string {
    return createHmac('sha256', this.active.key).update(text).digest('hex');
  }
}

/** True when `v` has the shape of a Sealed record. */
export function isSealed(v: unknown): v is Sealed {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.k === 'string' &&
    typeof s.iv === 'string' &&
    typeof s.tag === 'string' &&
    typeof s.ct === 'string'
  );
}

/** A new random key as DATA_ENCRYPTION_KEYS takes it (`id:base64`). */
export function generateDataKeySpec(id = 'k1'): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}
