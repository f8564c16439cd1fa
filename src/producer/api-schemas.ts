/** Request and response schemas of the REST API; the OpenAPI document is generated from them. */
import { z } from 'zod';
import { checkRequestDocSchema, checkRequestSchema } from '../shared/schemas/check-request.js';
import { checkSummarySchema } from '../shared/schemas/check-summary.js';

const priority = z.enum(['realtime', 'batch']).default('realtime');

/** POST /v1/eligibility body: the request in Stedi's v3 shape or its 2026-06-01 shape. */
export const submitCheckSchema = z.object({ priority, request: checkRequestSchema }).strict();

const routeFields = {
  /** `stedi-batch`: to Stedi's Batch Eligibility API; `realtime`: through our queue. */
  route: z.enum(['realtime', 'stedi-batch']).optional(),
  /** How long Stedi retries payer-connectivity failures of a routed run, in hours. */
  maxRetryHours: z.number().int().min(8).max(24).optional(),
};

/** POST /v1/eligibility/batch body; the item limit is checked against configuration. */
export const submitBatchSchema = z
  .object({
    items: z.array(checkRequestSchema).min(1, 'must hold at least one request'),
    ...routeFields,
  })
  .strict();

/** The submit bodies as documented (OpenAPI): each request in either shape. */
export const submitDocSchemas = {
  check: z.object({ priority, request: checkRequestDocSchema }).strict(),
  batch: z.object({ items: z.array(checkRequestDocSchema).min(1), ...routeFields }).strict(),
};

/** POST /admin/mode body. */
export const modeSchema = z
  .object({ mode: z.enum(['normal', 'draining', 'maintenance']) })
  .strict();

/** A check's state as the API reports it. */
export const checkStatusSchema = z.enum(['waiting', 'active', 'completed', 'failed', 'delayed']);

/** Answer of a submit, and of GET /v1/eligibility/:id. */
export const checkViewSchema = z.object({
  id: z.string(),
  status: checkStatusSchema,
  priority: z.enum(['realtime', 'batch']),
  attempts: z.number().int().optional(),
  submittedAt: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Stedi's full answer, in the shape of the endpoint that answered. */
  result: z.unknown().optional(),
  /** The normalized summary of a completed check, the same whichever endpoint answered. */
  summary: checkSummarySchema.optional(),
  /** Set for a check routed to Stedi's Batch Eligibility API, with Stedi's batch id once known. */
  route: z.literal('stedi-batch').optional(),
  stediBatchId: z.string().optional(),
  failureReason: z.string().optional(),
  /**
   * Answered from the answer cache or by an identical check's call: `result` is that earlier
   * call's answer as Stedi sent it (its id, trace id and control number are that call's).
   */
  cached: z.boolean().optional(),
  links: z.object({ self: z.string() }),
});

/** DELETE /v1/eligibility/:id. */
export const cancelledSchema = z.object({ id: z.string(), status: z.literal('cancelled') });

/** GET /healthz. */
export const healthSchema = z.object({ status: z.literal('ok') });

/** GET /readyz (200 and 503). */
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  redis: z.enum(['ok', 'unreachable']),
  dynamodb: z.enum(['ok', 'unreachable']),
});

/** Every 4xx answer. */
export const errorSchema = z.object({
  error: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export type CheckView = z.infer<typeof checkViewSchema>;
