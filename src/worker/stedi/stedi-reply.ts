/**
 * Stedi's HTTP answer as the clients pass it on, built the same way whichever transport read it:
 * the body parsed when it is JSON, the status alone otherwise, Retry-After in ms.
 */
import type { StediReply } from './stedi-client.js';

/** The reply of an answer with `status`, body `text` and Retry-After header `retryAfter`. */
export function stediReply(
  status: number,
  text: string,
  retryAfter: string | null | undefined,
): StediReply {
  // A byte-order mark is no part of the JSON (fetch's text() drops it already).
  const json = text.replace(/^\uFEFF/, '');
  let body: unknown = undefined;
  try {
    body = json.length > 0 ? JSON.parse(json) : undefined;
  } catch {
    // Not JSON (a proxy's error page): the status alone decides.
  }
  const seconds = Number(retryAfter);
  return {
    status,
    body,
    ...(Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {}),
  };
}
