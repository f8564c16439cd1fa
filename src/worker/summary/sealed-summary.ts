/** The summary field of a job result: the answer's summary, sealed like the answer itself. */
import type { Sealed, ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import type { CheckSummary } from '../../shared/schemas/check-summary.js';
import { summarizeAnswer } from './summarize.js';

/**
 * `{ summary }` for a job result, or nothing when the answer cannot be summarized: a payer's odd
 * answer must never cost the check its full answer.
 */
export function sealedSummary(
  body: unknown,
  answeredBy: CheckSummary['answeredBy'],
  serviceTypes: readonly string[],
  cipher: ValueCipher,
  log: Logger,
): { summary?: Sealed } {
  try {
    return { summary: cipher.seal(summarizeAnswer(body, answeredBy, serviceTypes)) };
  } catch (err) {
    // The error names a code path, not a value: summarizing reads only structure and codes.
    log.warn({ err: (err as Error).name }, 'answer could not be summarized; full answer kept');
    return {};
  }
}
