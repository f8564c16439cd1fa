/**
 * Response schemas of the limits and concurrency endpoints, for the OpenAPI document. The answers
 * are built from shared TypeScript types; `satisfies` makes a required field added there without
 * being added here a compile error.
 */
import { z } from 'zod';
import type { HolderView, SemaphoreStatus } from '../shared/semaphore/index.js';
import {
  capSpecSchema,
  limitOverridesSchema,
  tenantLimitSchema,
  type EffectiveLimits,
  type LimitOverrides,
} from '../shared/scheduling/limits.js';
import type { SchedulingStateView } from '../shared/scheduling/state-view.js';

/** Configuration merged with the run-time overrides. */
export const effectiveLimitsSchema = z.object({
  allocation: z.number().int(),
  realtimeReserved: z.number().int(),
  payers: z.object({
    defaultCap: capSpecSchema,
    caps: z.record(z.string(), capSpecSchema),
    npiCap: z.number().int(),
  }),
  tenants: z.record(z.string(), tenantLimitSchema),
  lending: z.object({
    floor: z.number().int(),
    waitTargetMs: z.number().int(),
    waitPercentile: z.number(),
  }),
}) satisfies z.ZodType<EffectiveLimits>;

/** Payers and tenants active in the last ten minutes, across all workers. */
export const schedulingStateSchema = z.object({
  payers: z.array(
    z.object({
      payer: z.string(),
      inFlight: z.number().int(),
      earnedConcurrency: z.number().int(),
      cap: z.number().int(),
      breaker: z.enum(['closed', 'open', 'half-open']),
      probeAt: z.string().exactOptional(),
    }),
  ),
  tenants: z.array(
    z.object({
      tenant: z.string(),
      inFlight: z.number().int(),
      weight: z.number(),
      maxConcurrency: z.number().int().exactOptional(),
    }),
  ),
}) satisfies z.ZodType<SchedulingStateView>;

/** GET /v1/limits and PUT /admin/limits answer. */
export interface LimitsView {
  /** The stored overrides document, as last PUT (`{}` when none). */
  readonly overrides: LimitOverrides;
  /** When and by which API key it was last PUT; null when it never was. */
  readonly updatedAt: string | null;
  readonly updatedBy: string | null;
  readonly effective: EffectiveLimits;
  readonly state: SchedulingStateView;
}

/** The schema of LimitsView. */
export const limitsViewSchema = z.object({
  overrides: limitOverridesSchema,
  updatedAt: z.string().nullable(),
  updatedBy: z.string().nullable(),
  effective: effectiveLimitsSchema,
  state: schedulingStateSchema,
}) satisfies z.ZodType<LimitsView>;

// HolderView's `x: T | undefined` fields are absent from the JSON, which zod spells optional; so
// only the key sets are checked against the types here.
const holderSchema = z.object({
  slot: z.number().int(),
  slotKind: z.enum(['shared', 'reserved']),
  pool: z.enum(['realtime', 'batch']).optional(),
  owner: z.string(),
  ageMs: z.number().optional(),
  leaseExpiresInMs: z.number().optional(),
  callStartedAt: z.number().optional(),
  claimableInMs: z.number(),
  reclaimable: z.boolean(),
  outsideAllocation: z.boolean(),
} satisfies Record<keyof HolderView, z.ZodType>);

/** GET /v1/concurrency answer: the semaphore, and checks in flight by payer and by tenant. */
export const concurrencySchema = z.object({
  name: z.string(),
  capacity: z.number().int(),
  realtimeReserved: z.number().int(),
  realtimeFloor: z.number().int(),
  holders: z.array(holderSchema),
  heldByPool: z.object({ realtime: z.number().int(), batch: z.number().int() }),
  free: z.number().int(),
  byPayer: z.record(z.string(), z.number().int()),
  byTenant: z.record(z.string(), z.number().int()),
} satisfies Record<keyof SemaphoreStatus | 'byPayer' | 'byTenant', z.ZodType>);
