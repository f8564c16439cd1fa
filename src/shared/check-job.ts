/** The data of one eligibility-check job and its result, as stored in BullMQ. */
import type { EligibilityRequest } from './schemas/eligibility-request.js';
import type { Priority } from './queues.js';

/** Job data: the Stedi request plus what the system needs to route and measure it. */
export interface CheckJobData {
  readonly request: EligibilityRequest;
  readonly priority: Priority;
  /** When the producer accepted the check (epoch ms). */
  readonly submittedAt: number;
  /** API key name that submitted it (never the secret). */
  readonly submittedBy?: string;
}

/** Job result: Stedi's answer and when the call ran. */
export interface CheckJobResult {
  /** Stedi's response body. */
  readonly response: unknown;
  /** AAA error codes in the answer (empty for a clean answer). */
  readonly aaaCodes: readonly string[];
  readonly callStartedAt: number;
  readonly callMs: number;
}
