/** The normalized summary of an answer, whichever Stedi endpoint gave it. */
import type { CheckSummary } from '../../shared/schemas/check-summary.js';
import { summarize2026 } from './summarize-2026.js';
import { summarizeV3 } from './summarize-v3.js';

/** Summarizes `body`, Stedi's answer from `answeredBy`, for the requested `serviceTypes`. */
export function summarizeAnswer(
  body: unknown,
  answeredBy: CheckSummary['answeredBy'],
  serviceTypes: readonly string[],
): CheckSummary {
  return answeredBy === '2026-06-01'
    ? summarize2026(body, serviceTypes)
    : summarizeV3(body, serviceTypes, answeredBy);
}
