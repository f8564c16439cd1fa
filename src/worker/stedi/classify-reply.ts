/**
 * What a Stedi answer means for the check (../shared/stedi/README.md, "Errors and retries"):
 * an answer to keep, a 429 to wait out, a transient failure to retry, or a refusal to fail.
 * Reasons never quote patient values: they name status codes, AAA codes and Stedi's error codes.
 */
import { z } from 'zod';
import type { StediReply } from './stedi-client.js';

const stediErrorSchema = z
  .object({
    field: z.string().optional(),
    code: z.string().optional(),
    description: z.string().optional(),
    /** A JSON pointer into the request (2026-06-01 validation errors). */
    path: z.string().optional(),
  })
  .passthrough();

/** The part of Stedi's 200 body we rely on; everything else passes through untouched. */
export const stediResponseSchema = z
  .object({ errors: z.array(stediErrorSchema).optional() })
  .passthrough();

/** AAA codes meaning the payer could not answer now: retry later. */
const transientAaa = new Set(['42', '80']);

/** How a call ended. */
export type CallOutcome =
  | { readonly kind: 'answer'; readonly body: unknown; readonly aaaCodes: string[] }
  | { readonly kind: 'throttled'; readonly retryAfterMs: number | undefined }
  | {
      readonly kind: 'retryable';
      readonly reason: string;
      /** Sent with no answer back: the call may still hold a slot at Stedi (StediTransportError). */
      readonly mayStillRun?: boolean;
    }
  | { readonly kind: 'rejected'; readonly reason: string; readonly alert: boolean };

/** Classifies one Stedi reply. */
export function classifyReply(reply: StediReply): CallOutcome {
  const { status } = reply;
  if (status === 200) {
    const parsed = stediResponseSchema.safeParse(reply.body);
    if (!parsed.success)
      return {
        kind: 'retryable',
        reason: 'Stedi answered 200 with a body that is not an eligibility response',
      };
    const aaaCodes = (parsed.data.errors ?? [])
      .map((e) => e.code)
      .filter((c): c is string => typeof c === 'string');
    const transient = aaaCodes.filter((c) => transientAaa.has(c));
    if (transient.length > 0) {
      return {
        kind: 'retryable',
        reason: `payer could not respond now (AAA ${transient.join(', ')})`,
      };
    }
    return { kind: 'answer', body: parsed.data, aaaCodes };
  }
  if (status === 429) return { kind: 'throttled', retryAfterMs: reply.retryAfterMs };
  if (status === 401 || status === 403) {
    return {
      kind: 'rejected',
      alert: true,
      reason: `Stedi refused the API key (${status}): check STEDI_API_KEY (test keys accept only mock requests)`,
    };
  }
  if (status === 408 || status >= 500)
    return { kind: 'retryable', reason: `Stedi answered ${status}` };
  return {
    kind: 'rejected',
    alert: false,
    reason: `Stedi rejected the request (${status})${errorCodes(reply.body)}`,
  };
}

function errorCodes(body: unknown): string {
  const parsed = stediResponseSchema.safeParse(body);
  const errors = parsed.success ? (parsed.data.errors ?? []) : [];
  const codes = errors.map((e) => e.code).filter(Boolean);
  // The 2026-06-01 endpoint names rejected fields by JSON pointer (a path, never a value).
  const paths = errors
    .map((e) => e.path)
    .filter((p): p is string => typeof p === 'string' && /^[/A-Za-z0-9_.-]{1,120}$/.test(p));
  if (codes.length === 0 && paths.length === 0) return '';
  // Code 33 (payer not configured) is the common one; its meaning is stated without echoing input.
  const known: Record<string, string> = { '33': 'payer not configured at Stedi' };
  const parts = codes.map((c) => `code ${c ?? ''}${c && known[c] ? ` (${known[c]})` : ''}`);
  if (paths.length > 0) parts.push(`fields ${paths.join(', ')}`);
  return `: ${parts.join(', ')}`;
}
