/**
 * Hands a routed check its outcome: the outcome goes into the check's data (sealed), then the
 * delayed check is promoted so a worker finishes it at once. A check being processed right now
 * may have read its data before the outcome landed; it goes back to wait, and the next poll
 * promotes it. So a hand-over is done only once the check is waiting, finished or gone.
 */
import { Job, type Queue } from 'bullmq';
import type { CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { RoutedCheckData, RoutedOutcome } from '../../shared/stedi-batch/routed-jobs.js';
import type { RoutedCheckJob } from '../../shared/stedi-batch/routed-queues.js';

/** The routed check `id`, or undefined when it is gone (cancelled, or expired). */
export async function routedCheck(
  checks: Queue<RoutedCheckData, CheckJobResult>,
  id: string,
): Promise<RoutedCheckJob | undefined> {
  return (await Job.fromId<RoutedCheckData, CheckJobResult>(checks, id)) ?? undefined;
}

/** An outcome, or how to work it out from the check (only asked when the check has none yet). */
export type OutcomeFor = RoutedOutcome | ((job: RoutedCheckJob) => RoutedOutcome);

/**
 * Gives check `id` its outcome; true once it needs nothing more from the poller. `stediBatchId`
 * is recorded with it.
 */
export async function handOver(
  checks: Queue<RoutedCheckData, CheckJobResult>,
  id: string,
  outcome: OutcomeFor,
  cipher: ValueCipher,
  stediBatchId?: string,
): Promise<boolean> {
  const job = await routedCheck(checks, id);
  if (!job) return true;
  const state = await job.getState();
  if (state === 'completed' || state === 'failed' || state === 'unknown') return true;
  if (!job.data.outcome) {
    const value = typeof outcome === 'function' ? outcome(job) : outcome;
    await job.updateData({
      ...job.data,
      ...(stediBatchId ? { stediBatchId } : {}),
      outcome: cipher.seal(value),
    });
  }
  if (state === 'delayed') {
    try {
      await job.promote();
      return true;
    } catch {
      // It left the delayed set meanwhile (a worker took it at its give-up bound): look again.
      return false;
    }
  }
  return state === 'waiting' || state === 'prioritized';
}
