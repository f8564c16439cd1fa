/**
 * The two BullMQ queues. Realtime and batch are separate queues rather than priorities of one:
 * BullMQ priorities never age and a job added without priority jumps all prioritized ones, while
 * two queues let workers serve realtime first by construction and let Bull Board show each depth.
 */
import type { JobsOptions } from 'bullmq';
import type { Pool } from './semaphore/types.js';

/** A check's priority; it is also the semaphore pool its Stedi call draws from. */
export type Priority = Pool;

/** Queue name of each priority. */
export const queueNames: Readonly<Record<Priority, string>> = {
  realtime: 'eligibility-realtime',
  batch: 'eligibility-batch',
};

/** Retry and retention settings of one priority; durations in ms, retention in seconds. */
export interface PriorityJobSettings {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly keepCompletedSeconds: number;
  readonly keepFailedSeconds: number;
}

/** Job options for a check of `priority`: exponential backoff with jitter, bounded retention. */
export function jobOptions(settings: PriorityJobSettings): JobsOptions {
  return {
    attempts: settings.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: settings.keepCompletedSeconds },
    removeOnFail: { age: settings.keepFailedSeconds },
  };
}
