/** Response schemas of the runs endpoints (the OpenAPI document is generated from them). */
import { z } from 'zod';
import { checkSummarySchema } from '../../shared/schemas/check-summary.js';

/** A run's checks by state. */
export const runCountsSchema = z.object({
  waiting: z.number().int(),
  active: z.number().int(),
  /** Waiting for a retry's backoff, or held back by the scheduler. */
  delayed: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  /** Removed by retention before being read. */
  expired: z.number().int(),
});

/** GET /v1/runs/:id, and the answer of DELETE /v1/runs/:id. */
export const runViewSchema = z.object({
  id: z.string(),
  /** running; cancelling (cancelled, some checks still running); completed; cancelled. */
  status: z.enum(['running', 'cancelling', 'completed', 'cancelled']),
  total: z.number().int(),
  /**
   * Set when routed to Stedi's Batch Eligibility API: its checks are delayed while Stedi has them,
   * and cancelling leaves those whose chunk Stedi accepted.
   */
  route: z.literal('stedi-batch').optional(),
  counts: runCountsSchema,
  /** Share of checks finished (completed, failed, cancelled or expired), 0 to 1. */
  progress: z.number(),
  createdAt: z.string(),
  cancelledAt: z.string().optional(),
  /** When the last check finished, once the run is over. */
  finishedAt: z.string().optional(),
  /** From the finishing rate of the last minute (or of the whole run when none finished in it). */
  estimatedSecondsRemaining: z.number().optional(),
  estimatedCompletionAt: z.string().optional(),
  links: z.object({ self: z.string(), results: z.string() }),
});

/** DELETE /v1/runs/:id: the run after cancellation. */
export const runCancelledSchema = runViewSchema.extend({
  /** Checks this request removed before they started. */
  cancelledNow: z.number().int(),
});

/** One line of GET /v1/runs/:id/results (JSON lines; CSV has the same columns). */
export const runResultRowSchema = z.object({
  /** The results cursor after this row. */
  seq: z.number().int(),
  checkId: z.string(),
  /** The check's position in the batch POST's `items`. */
  index: z.number().int(),
  status: z.enum(['completed', 'failed', 'cancelled', 'expired']),
  attempts: z.number().int(),
  finishedAt: z.string().optional(),
  /** AAA error codes of a completed check's answer. */
  aaaCodes: z.array(z.string()),
  failureReason: z.string().optional(),
  summary: checkSummarySchema.optional(),
});

/** The answer of POST /v1/eligibility/batch. */
export const batchAcceptedSchema = z.object({
  /** The run these checks make up: follow it at links.run. */
  runId: z.string(),
  count: z.number().int(),
  /** Set when the run was routed to Stedi's Batch Eligibility API: its checks wait delayed there. */
  route: z.literal('stedi-batch').optional(),
  checks: z.array(
    z.object({
      id: z.string(),
      status: z.enum(['waiting', 'delayed']),
      links: z.object({ self: z.string() }),
    }),
  ),
  links: z.object({ run: z.string() }),
});

export type RunView = z.infer<typeof runViewSchema>;
export type RunResultRow = z.infer<typeof runResultRowSchema>;
