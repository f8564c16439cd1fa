/**
 * API keys from configuration (`name:secret:scope+scope,...`), compared in constant time: both
 * sides are hashed first, so the comparison takes as long for every key and every length.
 */
import { secretDigest } from './find-by-secret.js';
import { commaList } from '../../shared/comma-list.js';
import { ConfigError } from '../../shared/errors/config-error.js';

/** What a key may do. */
export type Scope = 'submit' | 'read' | 'admin';
const scopes: ReadonlySet<string> = new Set(['submit', 'read', 'admin']);

/** One configured key; the secret is kept only as its digest. */
export interface ApiKey {
  readonly name: string;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
}

/** Parses `name:secret:scope+scope,...`; throws ConfigError naming the bad entry. */
export function parseApiKeys(spec: string, variable = 'API_KEYS'): ApiKey[] {
  return commaList(spec).map((entry, i) => {
    const [name, secret, scopeList] = entry.split(':');
    if (!name || !secret || !scopeList)
      throw new ConfigError([`${variable}: entry ${i + 1} is not name:secret:scopes`]);
    if (secret.length < 12)
      throw new ConfigError([
        `${variable}: the secret of "${name}" must have at least 12 characters`,
      ]);
    const parsed = scopeList.split('+');
    const bad = parsed.filter((s) => !scopes.has(s));
    if (bad.length)
      throw new ConfigError([
        `${variable}: unknown scope ${bad.join(', ')} for "${name}" (use submit, read, admin)`,
      ]);
    return { name, digest: secretDigest(secret), scopes: new Set(parsed as Scope[]) };
  });
}
