import { describe, expect, it } from 'vitest';
import { parseApiKeys, tenantDefaultsOf } from '../../src/producer/auth/api-keys.js';
import { ConfigError } from '../../src/shared/errors/config-error.js';

const secret = 'secret-0123456789';

/** The ConfigError text parseApiKeys throws for `spec`. */
function problem(spec: string): string {
  try {
    parseApiKeys(spec);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error(`"${spec}" was accepted`);
}

describe('API_KEYS: tenant weight and concurrency limit', () => {
  it('parses name:secret:scopes[:weight[:maxConcurrency]]', () => {
    const [plain, weighted, limited] = parseApiKeys(
      `plain:${secret}:read,light:${secret}:submit:0.5,clinic-a:${secret}:submit+read:2:5`,
    );
    expect(plain).not.toHaveProperty('weight');
    expect(plain).not.toHaveProperty('maxConcurrency');
    expect(weighted).toMatchObject({ name: 'light', weight: 0.5 });
    expect(weighted).not.toHaveProperty('maxConcurrency');
    expect(limited).toMatchObject({ name: 'clinic-a', weight: 2, maxConcurrency: 5 });
    expect([...limited!.scopes]).toEqual(['submit', 'read']);
  });

  it('gives the tenant defaults of the keys that carry any', () => {
    const keys = parseApiKeys(
      `plain:${secret}:read,light:${secret}:submit:0.5,clinic-a:${secret}:submit:2:5`,
    );
    expect(tenantDefaultsOf(keys)).toEqual({
      light: { weight: 0.5 },
      'clinic-a': { weight: 2, maxConcurrency: 5 },
    });
  });

  it.each(['0', '-1', 'abc', '1e3', '0x10', '', '1001'])(
    'refuses weight "%s", naming API_KEYS and the key',
    (weight) => {
      const text = problem(`clinic-a:${secret}:submit:${weight}`);
      expect(text).toContain('API_KEYS');
      expect(text).toContain('"clinic-a"');
      expect(text).toContain('weight');
      expect(text).not.toContain(secret);
    },
  );

  it.each(['0', '1.5', '-2', 'many', ''])(
    'refuses maxConcurrency "%s", naming API_KEYS and the key',
    (max) => {
      const text = problem(`clinic-a:${secret}:submit:1:${max}`);
      expect(text).toMatch(/API_KEYS.*"clinic-a".*maxConcurrency/);
      expect(text).not.toContain(secret);
    },
  );

  it('refuses extra fields, and two entries of one name that disagree', () => {
    expect(problem(`clinic-a:${secret}:submit:1:2:3`)).toContain('API_KEYS: entry 1');
    expect(problem(`a:${secret}:submit:2,a:${secret}-2:submit:3`)).toMatch(/API_KEYS.*"a"/);
    // Rotation: two secrets of one tenant with the same limits.
    expect(parseApiKeys(`a:${secret}:submit:2,a:${secret}-2:submit:2`)).toHaveLength(2);
  });
});
