/**
 * What one item of Stedi's batch results means for its check, in the classes real-time answers
 * have: an answer to keep (clean, or a definitive AAA code), or a failure. AAA 42/80 that outlived
 * Stedi's own retries (maxRetryHours) fails the check: Stedi has already done the retrying.
 */
import type { CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import type { RoutedOutcome } from '../../shared/stedi-batch/routed-jobs.js';
import { classifyReply } from '../stedi/classify-reply.js';
import { sealedSummary } from '../summary/sealed-summary.js';

/** The outcome of a check whose item is `item` in Stedi's results. */
export function itemOutcome(
  item: unknown,
  ctx: {
    readonly serviceTypes: readonly string[];
    readonly maxRetryHours: number;
    readonly acceptedAt: number;
    readonly now: number;
    readonly cipher: ValueCipher;
    readonly log: Logger;
  },
): RoutedOutcome {
  const outcome = classifyReply({ status: 200, body: item });
  if (outcome.kind === 'retryable')
    return {
      kind: 'failed',
      reason: `${outcome.reason}, after Stedi retried it for up to ${ctx.maxRetryHours} hours (maxRetryHours); submit it again later`,
    };
  if (outcome.kind !== 'answer')
    return {
      kind: 'failed',
      reason: "Stedi's batch returned an item that is not an eligibility answer",
    };
  const result: CheckJobResult = {
    response: ctx.cipher.seal(outcome.body),
    ...sealedSummary(outcome.body, 'stedi-batch', ctx.serviceTypes, ctx.cipher, ctx.log),
    aaaCodes: outcome.aaaCodes,
    callStartedAt: ctx.acceptedAt,
    callMs: Math.max(0, ctx.now - ctx.acceptedAt),
  };
  return { kind: 'answer', result };
}
