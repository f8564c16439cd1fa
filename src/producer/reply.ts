/**
 * An HTTP answer as data, so the same decision can be sent by Express or by the submit fast lane
 * (`fast-submit.ts`) and both answer byte for byte alike.
 */
import type { ServerResponse } from 'node:http';
import type { Response } from 'express';
import { RedisUnavailableError } from './redis-unavailable-error.js';

/** Status, JSON body and extra headers of one answer. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Headers on every answer of the API. */
export const securityHeaders: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** A JSON error answer. */
export function errorReply(
  status: number,
  error: string,
  extra: { headers?: Record<string, string>; issues?: readonly unknown[] } = {},
): Reply {
  return {
    status,
    body: extra.issues ? { error, issues: extra.issues } : { error },
    ...(extra.headers ? { headers: extra.headers } : {}),
  };
}

/** Sends `reply` through Express. */
export function sendReply(res: Response, reply: Reply): void {
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status).json(reply.body);
}

// Flat [name, value, ...] list: Node takes it as is, without walking an object's keys.
const securityHeaderList = Object.entries(securityHeaders).flat();

/** Sends `reply` on a bare Node response, with the headers Express would have set. */
export function writeReply(res: ServerResponse, reply: Reply): void {
  const json = JSON.stringify(reply.body);
  const headers = [
    ...securityHeaderList,
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(json)),
  ];
  if (reply.headers)
    for (const [name, value] of Object.entries(reply.headers)) headers.push(name, value);
  res.writeHead(reply.status, headers);
  res.end(json);
}

/** Seconds a client is asked to wait before retrying when Redis does not answer. */
const REDIS_RETRY_AFTER_SECONDS = 2;

/**
 * The 503 of a request Redis did not answer in time. A submission may still land when Redis
 * answers again, so the answer says how to retry without a second check.
 */
export function redisUnavailableReply(err: RedisUnavailableError): Reply {
  return errorReply(
    503,
    `the queue store (Redis) is not answering (${err.message}); retry later. A check submitted ` +
      'now may still be accepted when it answers again: retry it with the same Idempotency-Key ' +
      'to get the same check, never a second one',
    { headers: { 'Retry-After': String(REDIS_RETRY_AFTER_SECONDS) } },
  );
}

/**
 * The answer to a failure while reading the body (body-parser's typed errors), or to an
 * unexpected one: never a 5xx for anything a client sent, and no internals in the body.
 */
export function failureReply(err: unknown, bodyLimitBytes: number): Reply {
  if (err instanceof RedisUnavailableError) return redisUnavailableReply(err);
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.too.large')
    return errorReply(413, `request body is larger than ${bodyLimitBytes} bytes`);
  if (e.type === 'entity.parse.failed') return errorReply(400, 'request body is not valid JSON');
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return errorReply(415, 'unsupported body encoding or charset');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
    return errorReply(e.status, 'invalid request');
  return errorReply(503, 'temporarily unavailable; retry later', {
    headers: { 'Retry-After': '5' },
  });
}
