/**
 * One HTTP call to Stedi's batch API with its answer left unclassified. A call that got no answer
 * rejects with StediTransportError. (Real-time calls hold a semaphore slot and need a last check
 * at the send, which fetch cannot give: guarded-post.ts.)
 */
import type { StediReply } from './stedi-client.js';
import { stediReply } from './stedi-reply.js';
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
  return stediReply(res.status, text, res.headers.get('retry-after'));
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return 'network error';
  const cause = err.cause as { code?: string } | undefined;
  return cause?.code ? `network error ${cause.code}` : `network error (${err.message})`;
}
