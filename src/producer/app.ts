/**
 * The producer's Express app: JSON only, every error a JSON body with a 4xx that names the
 * problem, no stack traces, no 5xx for anything a client can send.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckQueues } from '../shared/check-queues.js';
import type { Logger } from '../shared/logger.js';
import type { Priority } from '../shared/queues.js';
import type { SemaphoreStatus } from '../shared/semaphore/index.js';
import type { ApiKey } from './auth/api-keys.js';
import { BOARD_PATH, bullBoard, type BoardUser } from './bull-board.js';
import { IdempotencyStore } from './idempotency.js';
import type { ProducerMetrics } from './metrics.js';
import { ModeStore } from './operating-mode.js';
import { openApiDocument } from './openapi.js';
import { eligibilityRoutes } from './routes/eligibility.js';
import { operationsRoutes } from './routes/operations.js';
import { RateLimiter } from './rate-limiter.js';

/** Everything the app is built from. */
export interface ProducerAppDeps {
  readonly keys: readonly ApiKey[];
  readonly boardUsers: readonly BoardUser[];
  readonly redis: Redis;
  readonly queues: CheckQueues;
  readonly events: Readonly<Record<Priority, QueueEvents>>;
  readonly metrics: ProducerMetrics;
  readonly logger: Logger;
  readonly semaphoreStatus: () => Promise<SemaphoreStatus>;
  readonly dynamoReady: () => Promise<void>;
  readonly queuePrefix: string;
  /** Redact job data and results in Bull Board; off only in the test that proves the leak test works. */
  readonly redactBoard: boolean;
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly limits: {
    readonly bodyBytes: number;
    readonly batchMaxItems: number;
    readonly batchBacklogLimit: number;
    readonly maxWaitSeconds: number;
    readonly idempotencyTtlSeconds: number;
  };
}

/** Builds the app (not listening). */
export function createProducerApp(deps: ProducerAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const mode = new ModeStore(deps.redis, `${deps.queuePrefix}:mode`, deps.queues);

  app.use((req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = routeLabel(req);
      deps.metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      deps.metrics.latency.observe(
        { method: req.method, route },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    });
    next();
  });
  app.use(BOARD_PATH, bullBoard(deps.queues, deps.boardUsers, deps.logger, deps.redactBoard));
  app.use(express.json({ limit: deps.limits.bodyBytes, type: 'application/json', strict: true }));
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.use(
    operationsRoutes({
      keys: deps.keys,
      redis: deps.redis,
      mode,
      metrics: deps.metrics,
      semaphoreStatus: deps.semaphoreStatus,
      dynamoReady: deps.dynamoReady,
      logger: deps.logger,
    }),
  );
  app.use(
    '/v1/eligibility',
    eligibilityRoutes({
      keys: deps.keys,
      queues: deps.queues,
      events: deps.events,
      idempotency: new IdempotencyStore(
        deps.redis,
        deps.queuePrefix,
        deps.limits.idempotencyTtlSeconds,
        deps.queues.cipher,
      ),
      mode,
      batchMaxItems: deps.limits.batchMaxItems,
      batchBacklogLimit: deps.limits.batchBacklogLimit,
      maxWaitSeconds: deps.limits.maxWaitSeconds,
      limiter: new RateLimiter(
        deps.redis,
        deps.queuePrefix,
        deps.rateLimit.perSecond,
        deps.rateLimit.burst,
      ),
    }),
  );
  app.use((req, res) => {
    res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
  });
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: `request body is larger than ${deps.limits.bodyBytes} bytes` });
    } else if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'request body is not valid JSON' });
    } else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') {
      res.status(415).json({ error: 'unsupported body encoding or charset' });
    } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: 'invalid request' });
    } else {
      deps.logger.error({ err: e.message, route: routeLabel(req) }, 'request failed');
      res
        .status(503)
        .set('Retry-After', '5')
        .json({ error: 'temporarily unavailable; retry later' });
    }
  });
  return app;
}

function routeLabel(req: Request): string {
  if (req.originalUrl.startsWith(BOARD_PATH)) return BOARD_PATH;
  const route = (req.route as { path?: string } | undefined)?.path;
  return route ? `${req.baseUrl}${route}` : 'unmatched';
}
