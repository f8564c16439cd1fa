/**
 * The submit fast lane: `POST /v1/eligibility` answered on Node's HTTP server without passing
 * through Express. This is the one route clients call at queue speed, and Express's per-request
 * machinery alone costs about as much CPU as everything the route does (`npm run
 * bench:http-layer`: on our 2-core machine a bare Express route tops out at 13-15k requests/s, a
 * bare node:http handler at 80-88k). The lane reuses every decision the Express route makes (the
 * same body parser, auth, rate limit, CheckSubmitter and replies) in the same order, so both
 * answer alike (test/producer/fast-lane.test.ts); anything else, `/v1/eligibility/` included,
 * goes to Express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from '../shared/logger.js';
import type { ApiKey } from './auth/api-keys.js';
import { authorize, isApiKey } from './auth/require-scope.js';
import type { CheckSubmitter } from './check-submitter.js';
import { isJsonRequest, notJsonReply } from './json-content-type.js';
import type { ProducerMetrics } from './metrics.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisUnavailableError } from './redis-unavailable-error.js';
import { failureReply, writeReply, type Reply } from './reply.js';
import { recordRequest } from './request-metrics.js';

/** The path the lane answers. */
export const FAST_SUBMIT_PATH = '/v1/eligibility';

/** What the lane needs: the same pieces the Express route uses. */
export interface FastSubmitDeps {
  readonly keys: readonly ApiKey[];
  readonly limiter: RateLimiter;
  readonly submitter: CheckSubmitter;
  /** The app's JSON body parser (express.json), so limits and errors are the same. */
  readonly jsonBody: (
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ) => void;
  readonly bodyLimitBytes: number;
  readonly metrics: ProducerMetrics;
  readonly logger: Logger;
}

/** Returns a handler that answers `POST /v1/eligibility` and returns false for anything else. */
export function fastSubmitLane(deps: FastSubmitDeps) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== FAST_SUBMIT_PATH) return false;
    const started = performance.now();
    deps.jsonBody(req, res, (err?: unknown) => {
      // From here on everything waits on Redis, so the answer's deadline starts here (as in
      // Express, whose body parser also runs first): a slow upload is not Redis's fault.
      const deadline = deps.submitter.deadlineFromNow();
      void answer(req, err, q < 0 ? '' : url.slice(q + 1), deadline)
        .catch((e: unknown) => {
          // Redis outages are logged once, by RedisHealth, not once per request.
          if (!(e instanceof RedisUnavailableError))
            deps.logger.error(
              { err: (e as Error).message, route: FAST_SUBMIT_PATH },
              'request failed',
            );
          return failureReply(e, deps.bodyLimitBytes);
        })
        .then((reply) => {
          writeReply(res, reply);
          recordRequest(deps.metrics, 'POST', FAST_SUBMIT_PATH, reply.status, started);
        });
    });
    return true;
  };

  async function answer(
    req: IncomingMessage,
    bodyError: unknown,
    query: string,
    deadline: number,
  ): Promise<Reply> {
    if (bodyError) return failureReply(bodyError, deps.bodyLimitBytes);
    const key = authorize(deps.keys, req.headers.authorization, 'submit');
    if (!isApiKey(key)) return key;
    const refused = await deps.limiter.refusal(key, deadline);
    if (refused) return refused;
    if (!isJsonRequest(req)) return notJsonReply;
    const idempotencyKey = req.headers['idempotency-key'];
    return deps.submitter.submitOne({
      key,
      body: (req as IncomingMessage & { body?: unknown }).body,
      // Express's 'simple' query parser is node:querystring too.
      wait: query ? parseQuery(query).wait : undefined,
      idempotencyKey: Array.isArray(idempotencyKey) ? idempotencyKey.join(', ') : idempotencyKey,
      cacheControl: req.headers['cache-control'],
      deadline,
    });
  }
}
