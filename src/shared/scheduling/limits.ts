/**
 * Scheduling limits: payer caps, tenant weights and limits, and the realtime lending policy. The
 * configuration gives the defaults; an operator overrides them at run time (PUT /admin/limits),
 * and the overrides live in Redis so every worker applies them and they survive restarts.
 */
import { z } from 'zod';
import type { Config } from '../config.js';
import { commaList } from '../comma-list.js';
import { ConfigError } from '../errors/config-error.js';

/** A cap: a slot count, or a share of the allocation such as `50%`. */
export const capSpecSchema = z.union([
  z.number().int().min(1),
  z.string().regex(/^\d{1,3}(\.\d+)?%$/, 'must be a slot count or a share such as "50%"'),
]);
export type CapSpec = z.infer<typeof capSpecSchema>;

const payerIdSchema = z.string().min(1).max(80);
/** True when `s` has no lone surrogate (Redis's cjson refuses one escaped in JSON). */
export function wellFormed(s: string): boolean {
  return !/\p{Cs}/u.test(s);
}

const tenantNameSchema = z
  .string()
  .min(1)
  .max(100)
  .refine(wellFormed, 'must be well-formed Unicode (no lone surrogate)');

/** What one tenant (API key) may use of the batch capacity. */
export const tenantLimitSchema = z
  .object({
    /** Share of batch capacity relative to other tenants with work waiting. @defaultValue 1 */
    weight: z.number().positive().max(1000).optional(),
    /** Most slots the tenant's checks hold at once. @defaultValue no limit */
    maxConcurrency: z.number().int().min(1).optional(),
  })
  .strict();
export type TenantLimit = z.infer<typeof tenantLimitSchema>;

/** Run-time overrides, as PUT /admin/limits takes them; absent fields keep the configured value. */
export const limitOverridesSchema = z
  .object({
    payers: z
      .object({
        defaultCap: capSpecSchema.optional(),
        caps: z.record(payerIdSchema, capSpecSchema).optional(),
        npiCap: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    tenants: z.record(tenantNameSchema, tenantLimitSchema).optional(),
    lending: z
      .object({
        floor: z.number().int().min(0).optional(),
        waitTargetMs: z.number().int().min(1).optional(),
        waitPercentile: z.number().min(50).max(99.99).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type LimitOverrides = z.infer<typeof limitOverridesSchema>;

/** Limits in force: configuration merged with the run-time overrides. */
export interface EffectiveLimits {
  readonly allocation: number;
  readonly realtimeReserved: number;
  readonly payers: {
    readonly defaultCap: CapSpec;
    readonly caps: Readonly<Record<string, CapSpec>>;
    readonly npiCap: number;
  };
  readonly tenants: Readonly<Record<string, TenantLimit>>;
  readonly lending: {
    readonly floor: number;
    readonly waitTargetMs: number;
    readonly waitPercentile: number;
  };
}

/** The configured limits, before any run-time override. */
export function configuredLimits(
  config: Config,
  tenantDefaults: Readonly<Record<string, TenantLimit>> = {},
): EffectiveLimits {
  return {
    allocation: config.STEDI_CONCURRENCY,
    realtimeReserved: config.STEDI_REALTIME_RESERVED,
    payers: {
      defaultCap: parseCapSpec(config.PAYER_CAP, 'PAYER_CAP'),
      caps: parsePayerCaps(config.PAYER_CAPS),
      npiCap: config.PAYER_NPI_CAP,
    },
    tenants: tenantDefaults,
    lending: {
      floor: config.STEDI_REALTIME_FLOOR,
      waitTargetMs: config.REALTIME_WAIT_TARGET_MS,
      waitPercentile: config.REALTIME_WAIT_PERCENTILE,
    },
  };
}

/** Applies run-time overrides to the configured limits (per key, overrides win). */
export function applyOverrides(base: EffectiveLimits, o: LimitOverrides): EffectiveLimits {
  const tenants: Record<string, TenantLimit> = { ...base.tenants };
  for (const [name, limit] of Object.entries(o.tenants ?? {}))
    tenants[name] = { ...tenants[name], ...limit };
  return {
    ...base,
    payers: {
      defaultCap: o.payers?.defaultCap ?? base.payers.defaultCap,
      caps: { ...base.payers.caps, ...o.payers?.caps },
      npiCap: o.payers?.npiCap ?? base.payers.npiCap,
    },
    tenants,
    lending: {
      floor: Math.min(o.lending?.floor ?? base.lending.floor, base.realtimeReserved),
      waitTargetMs: o.lending?.waitTargetMs ?? base.lending.waitTargetMs,
      waitPercentile: o.lending?.waitPercentile ?? base.lending.waitPercentile,
    },
  };
}

/** Slots a cap allows out of `allocation` (at least 1, at most the allocation). */
export function capSlots(cap: CapSpec, allocation: number): number {
  const slots =
    typeof cap === 'number' ? cap : Math.floor((allocation * Number(cap.slice(0, -1))) / 100);
  return Math.min(allocation, Math.max(1, slots));
}

/** The cap of `payer` in slots. */
export function payerCap(limits: EffectiveLimits, payer: string): number {
  return capSlots(limits.payers.caps[payer] ?? limits.payers.defaultCap, limits.allocation);
}

/** The weight and concurrency limit of `tenant`. */
export function tenantLimit(
  limits: EffectiveLimits,
  tenant: string,
): { readonly weight: number; readonly maxConcurrency: number | undefined } {
  const t = limits.tenants[tenant];
  return { weight: t?.weight ?? 1, maxConcurrency: t?.maxConcurrency };
}

function parseCapSpec(raw: string, variable: string): CapSpec {
  const value: unknown = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw.trim();
  const parsed = capSpecSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError([`${variable}: "${raw}" must be a slot count or a share such as "50%"`]);
  return parsed.data;
}

/** Parses `payer=cap,payer=cap`. */
export function parsePayerCaps(spec: string): Record<string, CapSpec> {
  const caps: Record<string, CapSpec> = {};
  for (const entry of commaList(spec)) {
    const [payer, cap] = entry.split('=');
    if (!payer || cap === undefined)
      throw new ConfigError([`PAYER_CAPS: "${entry}" is not payer=cap`]);
    caps[payer.trim()] = parseCapSpec(cap, `PAYER_CAPS (${payer.trim()})`);
  }
  return caps;
}
