/**
 * The batch route at submission: which route a batch submission takes, and the enqueueing of one
 * routed to Stedi's Batch Eligibility API. Its items must fit Stedi's batch items, which are in
 * the v3 shape, so they are checked against v3 whatever endpoint the workers call.
 */
import type { CheckQueues } from '../shared/check-queues.js';
import type { Config } from '../shared/config.js';
import type { CheckRequest } from '../shared/schemas/check-request.js';
import { runCheckId } from '../shared/runs/run-store.js';
import { checkPath } from './check-view.js';
import { runPath } from './runs/run-view.js';
import type { Reply } from './reply.js';
import { conversionIssues, type Issue } from './validation.js';

/** Settings of the batch route (STEDI_BATCH_*). */
export interface StediBatchRouteSettings {
  /** Submissions of at least this many checks are routed unless they ask otherwise; 0: never. */
  readonly minItems: number;
  readonly chunkSize: number;
  readonly maxRetryHours: number;
  readonly giveUpMarginMs: number;
  readonly keepCompletedSeconds: number;
  readonly keepFailedSeconds: number;
}

/** The route's settings from the configuration. */
export function routeSettings(config: Config): StediBatchRouteSettings {
  return {
    minItems: config.STEDI_BATCH_ROUTE_MIN_ITEMS,
    chunkSize: config.STEDI_BATCH_CHUNK_SIZE,
    maxRetryHours: config.STEDI_BATCH_MAX_RETRY_HOURS,
    giveUpMarginMs: config.STEDI_BATCH_GRACE_MS,
    keepCompletedSeconds: config.RESULT_RETENTION_SECONDS,
    keepFailedSeconds: config.FAILED_RETENTION_SECONDS,
  };
}

/** The route a submission takes. */
export type SubmissionRoute = 'realtime' | 'stedi-batch';

/** The route of a submission of `count` checks that asked for `asked` (if anything). */
export function routeOf(
  asked: SubmissionRoute | undefined,
  count: number,
  settings: StediBatchRouteSettings,
): SubmissionRoute {
  if (asked) return asked;
  return settings.minItems > 0 && count >= settings.minItems ? 'stedi-batch' : 'realtime';
}

/** Why items cannot go to Stedi's Batch Eligibility API (fields without a v3 counterpart). */
export function routedIssues(items: readonly CheckRequest[]): Issue[] {
  return items.flatMap((item, i) => conversionIssues(item, 'v3', `items.${i}`));
}

/**
 * Enqueues a routed run (unless `enqueue` is false: a retry of a run cancelled meanwhile) and
 * answers 202 with the run and its checks.
 */
export async function enqueueRouted(
  queues: CheckQueues,
  items: readonly CheckRequest[],
  opts: {
    submittedBy: string;
    maxRetryHours: number | undefined;
    runId: string;
    enqueue: boolean;
  },
  settings: StediBatchRouteSettings,
): Promise<Reply> {
  if (opts.enqueue)
    await queues.stediBatch.addRun(items, {
      runId: opts.runId,
      submittedBy: opts.submittedBy,
      chunkSize: settings.chunkSize,
      maxRetryHours: opts.maxRetryHours ?? settings.maxRetryHours,
      giveUpMarginMs: settings.giveUpMarginMs,
      keepCompletedSeconds: settings.keepCompletedSeconds,
      keepFailedSeconds: settings.keepFailedSeconds,
    });
  const run = { id: opts.runId, route: 'stedi-batch' as const };
  const ids = items.map((_, i) => runCheckId(run, i));
  return {
    status: 202,
    headers: { Location: runPath(opts.runId) },
    body: {
      runId: opts.runId,
      count: ids.length,
      route: 'stedi-batch',
      checks: ids.map((id) => ({ id, status: 'delayed', links: { self: checkPath(id) } })),
      links: { run: runPath(opts.runId) },
    },
  };
}
