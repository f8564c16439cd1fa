import type { IncomingMessage } from 'node:http';
import typeis from 'type-is';

// Clients send one or two spellings of the header, so parsing each request's anew is wasted work.
const seen = new Map<string, boolean>();
const MAX_REMEMBERED = 64;

/** Whether `req` has a body typed as JSON, as Express's `req.is('application/json')` decides. */
export function isJsonRequest(req: IncomingMessage): boolean {
  const header = req.headers['content-type'];
  if (header === undefined || !typeis.hasBody(req)) return false;
  let json = seen.get(header);
  if (json === undefined) {
    json = Boolean(typeis.is(header, ['application/json']));
    if (seen.size >= MAX_REMEMBERED) seen.clear();
    seen.set(header, json);
  }
  return json;
}
