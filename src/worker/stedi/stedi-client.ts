/**
 * The Stedi eligibility call behind a small interface, so the newer 2026-06-01 endpoint can be
 * added as a second implementation with the same concurrency semantics.
 */
import type { EligibilityRequest } from '../../shared/schemas/eligibility-request.js';

/** Stedi's HTTP answer, before classification. */
export interface StediReply {
  readonly status: number;
  readonly body: unknown;
  /** Retry-After of a 429 or 503, in ms, when Stedi sent one. */
  readonly retryAfterMs?: number;
}

/** Sends one eligibility check to Stedi. */
export interface StediClient {
  /** Resolves with Stedi's answer; rejects with StediTransportError when none came back. */
  check(request: EligibilityRequest): Promise<StediReply>;
}
