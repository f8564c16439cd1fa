/**
 * API keys from configuration (`name:secret:scope+scope[:weight[:maxConcurrency]],...`), compared
 * in constant time: both sides are hashed first, so the comparison takes as long for every key and
 * every length. Each key is a scheduling tenant; weight and maxConcurrency are its defaults.
 */
import { secretDigest } from './find-by-secret.js';
import { commaList } from '../../shared/comma-list.js';
import { ConfigError } from '../../shared/errors/config-error.js';
import { tenantLimitSchema, type TenantLimit } from '../../shared/scheduling/limits.js';

/** What a key may do. */
export type Scope = 'submit' | 'read' | 'admin';
const scopes: ReadonlySet<string> = new Set(['submit', 'read', 'admin']);

/** One configured key; the secret is kept only as its digest. */
export interface ApiKey {
  readonly name: string;
  readonly digest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  /** Share of batch capacity relative to other tenants; unset means the scheduler's default. */
  readonly weight?: number;
  /** Most slots this tenant's checks hold at once; unset means no limit. */
  readonly maxConcurrency?: number;
}

/** Parses the API_KEYS format; throws ConfigError naming the bad entry or key. */
export function parseApiKeys(spec: string, variable = 'API_KEYS'): ApiKey[] {
  const keys = commaList(spec).map((entry, i) => {
    const [name, secret, scopeList, weight, maxConcurrency, ...rest] = entry.split(':');
    if (!name || !secret || !scopeList || rest.length)
      throw new ConfigError([
        `${variable}: entry ${i + 1} is not name:secret:scopes[:weight[:maxConcurrency]]`,
      ]);
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
    return {
      name,
      digest: secretDigest(secret),
      scopes: new Set(parsed as Scope[]),
      ...parseTenantLimit(weight, maxConcurrency, `${variable}: "${name}"`),
    };
  });
  checkConsistentTenants(keys, variable);
  return keys;
}

/** The tenant defaults the keys carry, by key name (keys without either field are left out). */
export function tenantDefaultsOf(keys: readonly ApiKey[]): Record<string, TenantLimit> {
  const defaults: Record<string, TenantLimit> = {};
  for (const k of keys) {
    if (k.weight === undefined && k.maxConcurrency === undefined) continue;
    defaults[k.name] = {
      ...(k.weight !== undefined ? { weight: k.weight } : {}),
      ...(k.maxConcurrency !== undefined ? { maxConcurrency: k.maxConcurrency } : {}),
    };
  }
  return defaults;
}

function parseTenantLimit(
  weight: string | undefined,
  maxConcurrency: string | undefined,
  where: string,
): Pick<ApiKey, 'weight' | 'maxConcurrency'> {
  // Plain decimals only: Number() would also take '0x10', '1e3' and ' '.
  const limit = {
    ...(weight !== undefined
      ? { weight: /^\d+(\.\d+)?$/.test(weight) ? Number(weight) : NaN }
      : {}),
    ...(maxConcurrency !== undefined
      ? { maxConcurrency: /^\d+$/.test(maxConcurrency) ? Number(maxConcurrency) : NaN }
      : {}),
  };
  // The same schema as run-time overrides, so a weight valid here is valid in PUT /admin/limits.
  const parsed = tenantLimitSchema.safeParse(limit);
  if (parsed.success) {
    const { weight: w, maxConcurrency: m } = parsed.data;
    return {
      ...(w !== undefined ? { weight: w } : {}),
      ...(m !== undefined ? { maxConcurrency: m } : {}),
    };
  }
  const field = String(parsed.error.issues[0]?.path[0] ?? 'weight');
  const [raw, rule] =
    field === 'maxConcurrency'
      ? [maxConcurrency, 'a positive integer']
      : [weight, 'a positive number of at most 1000'];
  throw new ConfigError([`${where}: ${field} "${raw ?? ''}" must be ${rule}`]);
}

/** Two entries of one name (a secret being rotated) are one tenant, so they must agree. */
function checkConsistentTenants(keys: readonly ApiKey[], variable: string): void {
  const seen = new Map<string, ApiKey>();
  for (const k of keys) {
    const first = seen.get(k.name);
    if (!first) {
      seen.set(k.name, k);
      continue;
    }
    if (first.weight !== k.weight || first.maxConcurrency !== k.maxConcurrency)
      throw new ConfigError([
        `${variable}: the entries of "${k.name}" give it different weights or concurrency limits`,
      ]);
  }
}
