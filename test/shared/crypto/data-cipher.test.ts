import { describe, expect, it } from 'vitest';
import {
  DataCipher,
  generateDataKeySpec,
  parseDataKeys,
} from '../../../src/shared/crypto/data-cipher.js';
import { ConfigError } from '../../../src/shared/errors/config-error.js';
import { DecryptionError } from '../../../src/shared/errors/decryption-error.js';

const value = {
  subscriber: { memberId: 'W123456789', firstName: 'Jane', dateOfBirth: '19800101' },
};

describe('DataCipher (AES-256-GCM with key ids)', () => {
  it('seals to ciphertext without the clear values and opens it back', () => {
    const cipher = new DataCipher(parseDataKeys(generateDataKeySpec('k1')));
    const sealed = cipher.seal(value);
    expect(sealed.k).toBe('k1');
    expect(JSON.stringify(sealed)).not.toMatch(/W123456789|Jane|19800101/);
    expect(cipher.open(sealed)).toEqual(value);
    expect(cipher.seal(value).iv).not.toBe(sealed.iv);
  });

  it('still opens records of an old key after rotation, and seals new ones with the new key', () => {
    const oldSpec = generateDataKeySpec('old');
    const before = new DataCipher(parseDataKeys(oldSpec)).seal(value);
    const rotated = new DataCipher(parseDataKeys(`${generateDataKeySpec('new')},${oldSpec}`));
    expect(rotated.open(before)).toEqual(value);
    expect(rotated.seal(value).k).toBe('new');
  });

  it('refuses altered records and unknown key ids', () => {
    const cipher = new DataCipher(parseDataKeys(generateDataKeySpec('k1')));
    const sealed = cipher.seal(value);
    const flipped = Buffer.from(sealed.ct, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => cipher.open({ ...sealed, ct: flipped.toString('base64') })).toThrow(
      DecryptionError,
    );
    expect(() => cipher.open({ ...sealed, k: 'other' })).toThrow(DecryptionError);
  });

  it('rejects malformed key settings with a ConfigError naming the variable', () => {
    expect(() => parseDataKeys('k1:short')).toThrow(ConfigError);
    expect(() => parseDataKeys('')).toThrow(/DATA_ENCRYPTION_KEYS/);
  });
});
