import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import typeis from 'type-is';
import { errorReply, sendReply, type Reply } from './reply.js';

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

/** The answer to a request whose body is not typed as JSON. */
export const notJsonReply: Reply = errorReply(415, 'Content-Type must be application/json');

/** Express: whether `req` has a JSON body; when not, the 415 answer is sent. */
export function requireJson(req: Request, res: Response): boolean {
  if (isJsonRequest(req)) return true;
  sendReply(res, notJsonReply);
  return false;
}
