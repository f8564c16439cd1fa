/**
 * The BullMQ processor of routed checks: it finishes a check its chunk's poller handed an outcome
 * (completed with Stedi's answer, or failed with the reason), and takes no semaphore slot. A check
 * that comes up without an outcome (its give-up bound, or a race with the poller) goes back to
 * wait while its chunk is still at work, and fails with a reason once its chunk is done.
 */
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type {
  ChunkJobData,
  RoutedCheckData,
  RoutedOutcome,
} from '../../shared/stedi-batch/routed-jobs.js';
import type { StediBatchMetrics } from './stedi-batch-metrics.js';

/** What finishing routed checks needs. */
export interface RoutedCheckDeps {
  readonly chunks: Queue<ChunkJobData>;
  readonly cipher: ValueCipher;
  readonly metrics: StediBatchMetrics;
  /** How long a check without an outcome waits again while its chunk works (ms). */
  readonly recheckMs: number;
  readonly now: () => number;
}

/** Builds the routed checks queue's processor. */
export function routedCheckProcessor(deps: RoutedCheckDeps) {
  return async (
    job: Job<RoutedCheckData, CheckJobResult>,
    token?: string,
  ): Promise<CheckJobResult> => {
    if (job.data.outcome) {
      const outcome = deps.cipher.open(job.data.outcome) as RoutedOutcome;
      if (outcome.kind === 'failed') {
        deps.metrics.checks.inc({ outcome: 'failed' });
        throw new UnrecoverableError(outcome.reason);
      }
      deps.metrics.checks.inc({ outcome: 'completed' });
      return outcome.result;
    }
    const chunk = await deps.chunks.getJob(job.data.chunkId);
    const state = chunk ? await chunk.getState() : 'missing';
    if (state === 'completed' || state === 'failed' || state === 'missing' || state === 'unknown') {
      deps.metrics.checks.inc({ outcome: 'failed' });
      throw new UnrecoverableError(
        "Stedi's batch route ended without an outcome for this check; submit it again",
      );
    }
    await job.moveToDelayed(deps.now() + deps.recheckMs, token);
    throw new DelayedError();
  };
}
