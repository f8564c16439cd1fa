/**
 * One HTTP call to Stedi's batch API with its answer left unclassified. A call that got no answer
 * rejects with StediTransportError. (Real-time calls hold a semaphore slot and need a last check
 * at the send, which fetch cannot give: guarded-post.ts.)
 */
import type { StediReply } from './stedi-client.js';
import { StediTransportError } from './stedi-transport-error.js';

/** Sends `init` to `url`; gives up after `limitMs`. `what` names the call in the error. */
export async function fetchReply(
  doFetch: typeof fetch,
  url: string | URL,
  init: RequestInit,
  limitMs: number,
  what: string,
): Promise<StediReply> {
  let res: Response;
  let text: string;
  try {
    res = await doFetch(url, { ...init, signal: AbortSignal.timeout(limitMs) });
    text = await res.text();
  } catch (err) {
    const timedOut =
      err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const why = timedOut ? `no answer within ${limitMs} ms` : describeNetworkError(err);
    throw new StediTransportError(`${what} failed: ${why}`, { cause: err });
  }
  let body: unknown = undefined;
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): the status alone decides.
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  return {
    status: res.status,
    body,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return 'network error';
  const cause = err.cause as { code?: string } | undefined;
  return cause?.code ? `network error ${cause.code}` : `network error (${err.message})`;
}
