/**
 * The Stedi eligibility call behind a small interface. Both real-time endpoints (v3 and
 * 2026-06-01) share Stedi's concurrency semantics and the answers' AAA error list; they differ in
 * path and body shape, and the body is converted before the call.
 */
import type { EligibilityEndpoint } from '../../shared/stedi-api.js';

/** Stedi's HTTP answer, before classification. */
export interface StediReply {
  readonly status: number;
  readonly body: unknown;
  /** Retry-After of a 429 or 503, in ms, when Stedi sent one. */
  readonly retryAfterMs?: number;
}

/** How one check is sent. */
export interface CheckOptions {
  /**
   * Runs at the last moment before the request goes out, with no await in between; if it
   * throws, nothing is sent and `check` rejects with what it threw.
   */
  readonly beforeSend?: () => void;
}

/** Sends one eligibility check to Stedi. */
export interface StediClient {
  /** The endpoint this client calls; bodies must be in its shape. */
  readonly endpoint: EligibilityEndpoint;
  /** Resolves with Stedi's answer; rejects with StediTransportError when none came back. */
  check(body: Readonly<Record<string, unknown>>, options?: CheckOptions): Promise<StediReply>;
}
