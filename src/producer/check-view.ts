import type { CheckJob } from '../shared/check-queues.js';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';
import type { CheckSummary } from '../shared/schemas/check-summary.js';
import { isRoutedCheck } from '../shared/stedi-batch/routed-jobs.js';
import type { CheckView } from './api-schemas.js';

/** The API path of a check. */
export const checkPath = (id: string): string => `/v1/eligibility/${id}`;

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** Maps BullMQ's job states to the API's. */
export function apiStatus(state: string): CheckView['status'] | undefined {
  switch (state) {
    case 'waiting':
    case 'prioritized':
    case 'waiting-children':
      return 'waiting';
    case 'active':
    case 'completed':
    case 'failed':
    case 'delayed':
      return state;
    default:
      return undefined;
  }
}

/** The API view of a check. */
export function checkView(
  job: CheckJob,
  status: CheckView['status'],
  cipher: ValueCipher,
): CheckView {
  const id = job.id ?? '';
  const view: CheckView = {
    id,
    status,
    priority: job.data.priority,
    attempts: job.attemptsMade,
    links: { self: checkPath(id) },
  };
  const submittedAt = iso(job.timestamp);
  if (submittedAt) view.submittedAt = submittedAt;
  const startedAt = iso(job.processedOn);
  if (startedAt) view.startedAt = startedAt;
  const finishedAt = iso(job.finishedOn);
  if (finishedAt) view.finishedAt = finishedAt;
  if (status === 'completed' && job.returnvalue?.response)
    view.result = cipher.open(job.returnvalue.response);
  if (status === 'completed' && job.returnvalue?.summary)
    view.summary = cipher.open(job.returnvalue.summary) as CheckSummary;
  if (status === 'failed' && job.failedReason) view.failureReason = job.failedReason;
  if (status === 'completed' && job.returnvalue?.cached) view.cached = true;
  if (isRoutedCheck(job.data)) {
    view.route = 'stedi-batch';
    if (job.data.stediBatchId) view.stediBatchId = job.data.stediBatchId;
  }
  return view;
}
