/** The data of one eligibility-check job and its result, as stored in BullMQ. */
import type { Sealed } from './crypto/data-cipher.js';
import type { Priority } from './queues.js';

/**
 * Job data: the Stedi request, encrypted (it carries patient data), plus what the system needs
 * to route and measure it, in clear.
 */
export interface CheckJobData {
  /** The request (Stedi's v3 or 2026-06-01 shape), sealed with the data cipher. */
  readonly request: Sealed;
  readonly priority: Priority;
  /** When the producer accepted the check (epoch ms). */
  readonly submittedAt: number;
  /** API key name that submitted it (never the secret). */
  readonly submittedBy?: string;
  /** Oldest cached answer (seconds) the submitter accepts; 0 refuses cached answers. */
  readonly cacheMaxAgeSeconds?: number;
}

/** Job result: Stedi's answer (encrypted) and, in clear, its AAA codes and timing. */
export interface CheckJobResult {
  /** Stedi's response body, sealed with the data cipher. */
  readonly response: Sealed;
  /** The normalized summary (CheckSummary), sealed; absent when the answer could not be read. */
  readonly summary?: Sealed;
  /** AAA error codes in the answer (empty for a clean answer). */
  readonly aaaCodes: readonly string[];
  readonly callStartedAt: number;
  readonly callMs: number;
  /** Served from the answer cache or by an identical check's call (no call of its own). */
  readonly cached?: boolean;
}
