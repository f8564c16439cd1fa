/**
 * Jobs of the batch route, where checks go to Stedi's Batch Eligibility API instead of through the
 * semaphore. Two queues: one job per check (so it reads, shows and counts like any check) and one
 * job per chunk, the unit submitted to Stedi and polled. A routed check waits delayed until its
 * chunk's poller hands it Stedi's outcome and promotes it; a worker then completes or fails it.
 * Its delay is the give-up bound, so a check whose chunk never answers still ends, with a reason.
 */
import type { Sealed } from '../crypto/data-cipher.js';
import type { CheckJobData, CheckJobResult } from '../check-job.js';

/** Queue names of the route. */
export const stediBatchQueueNames = {
  checks: 'eligibility-stedi-batch',
  chunks: 'eligibility-stedi-batch-chunks',
} as const;

/** Id prefixes: a routed check, and a chunk. */
export const routedIdPrefix = { check: 'sb_', chunk: 'sbk_' } as const;

/** What Stedi's batch said about one check, handed over by the chunk's poller. */
export type RoutedOutcome =
  | { readonly kind: 'answer'; readonly result: CheckJobResult }
  | { readonly kind: 'failed'; readonly reason: string };

/** A routed check: a check's data, its chunk, Stedi's batch id once known, then its outcome. */
export interface RoutedCheckData extends CheckJobData {
  readonly route: 'stedi-batch';
  readonly chunkId: string;
  readonly stediBatchId?: string;
  /** Sealed RoutedOutcome (an answer carries patient data). */
  readonly outcome?: Sealed;
}

/** One chunk of a routed submission: what was sent, Stedi's batch id, and the poller's state. */
export interface ChunkJobData {
  readonly checkIds: readonly string[];
  /** Passed to Stedi: how long it retries payer-connectivity failures (8 to 24). */
  readonly maxRetryHours: number;
  readonly submittedBy?: string;
  readonly submittedAt: number;
  /** When the poller gives up on Stedi and fails what is left (epoch ms). */
  readonly giveUpAt: number;
  /** Set before the first submission is sent: a chunk that has it may have reached Stedi. */
  readonly submitStartedAt?: number;
  readonly stediBatchId?: string;
  readonly acceptedAt?: number;
  /** Every check of the chunk carries `stediBatchId` (shown, and no longer cancellable). */
  readonly stamped?: boolean;
  /** Checks still waiting for Stedi's outcome (all of them until the first results). */
  readonly pending?: readonly string[];
  /** Checks given their outcome but not yet promoted (busy when the poller came by). */
  readonly unsettled?: readonly string[];
  /** Nothing more to ask Stedi: only `unsettled` hand-overs are left to finish. */
  readonly settling?: boolean;
  /** Next poll delay while nothing changes (ms); reset to the minimum on progress. */
  readonly pollDelayMs?: number;
  /** Finished items (success + error) at the last poll. */
  readonly seenProgress?: number;
  /** Polls since Stedi called the batch COMPLETED with checks still unanswered. */
  readonly roundsAfterComplete?: number;
}

/** True when `data` is a routed check's. */
export function isRoutedCheck(data: CheckJobData): data is RoutedCheckData {
  return (data as Partial<RoutedCheckData>).route === 'stedi-batch';
}
