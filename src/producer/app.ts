/**
 * The producer's Express app: JSON only, every error a JSON body with a 4xx that names the
 * problem, no stack traces, no 5xx for anything a client can send.
 */
import type { RequestListener } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Tracer } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import type { CheckQueues } from '../shared/check-queues.js';
import type { Logger } from '../shared/logger.js';
import type { EligibilityEndpoint } from '../shared/stedi-api.js';
import type { StediBatchRouteSettings } from './routed-submission.js';
import type { SemaphoreStatus } from '../shared/semaphore/index.js';
import type { EffectiveLimits } from '../shared/scheduling/limits.js';
import type { LimitsStore } from '../shared/scheduling/limits-store.js';
import type { SchedulingStateView } from '../shared/scheduling/state-view.js';
import type { ApiKey } from './auth/api-keys.js';
import { BOARD_PATH, bullBoard, type BoardUser } from './bull-board.js';
import { CheckSubmitter } from './check-submitter.js';
import { fastSubmitLane } from './fast-submit.js';
import { IdempotencyStore } from './idempotency.js';
import { isJsonRequest } from './json-content-type.js';
import type { ProducerMetrics } from './metrics.js';
import { ModeStore } from './operating-mode.js';
import type { OnDemandQueueEvents } from './on-demand-queue-events.js';
import { openApiDocument } from './openapi.js';
import { eligibilityRoutes } from './routes/eligibility.js';
import { limitsRoutes } from './routes/limits.js';
import { runRoutes } from './routes/runs.js';
import { webhookRoutes } from './routes/webhooks.js';
import { WebhookDeliveries } from '../shared/webhooks/deliveries.js';
import { WebhookEndpointStore } from '../shared/webhooks/endpoint-store.js';
import type { WebhookUrlPolicy } from '../shared/webhooks/url-policy.js';
import { RunStore } from '../shared/runs/run-store.js';
import { operationsRoutes } from './routes/operations.js';
import { RateLimiter } from './rate-limiter.js';
import type { RedisHealth } from './redis-health.js';
import { RedisUnavailableError } from './redis-unavailable-error.js';
import { failureReply, securityHeaders, sendReply } from './reply.js';
import { observeRequest } from './request-metrics.js';
import { keepTraceContext, traceSubmissions } from './request-tracing.js';
import { STATUS_PATH, statusPage } from './status/status-page.js';
import type { StatusView } from './status/status-view.js';

/** Everything the app is built from. */
export interface ProducerAppDeps {
  readonly keys: readonly ApiKey[];
  readonly boardUsers: readonly BoardUser[];
  readonly redis: Redis;
  /** Whether Redis answers; bounds every submission's Redis work. */
  readonly redisHealth: RedisHealth;
  readonly queues: CheckQueues;
  readonly events: OnDemandQueueEvents;
  readonly metrics: ProducerMetrics;
  readonly logger: Logger;
  readonly semaphoreStatus: () => Promise<SemaphoreStatus>;
  readonly dynamoReady: () => Promise<void>;
  readonly queuePrefix: string;
  /** Scheduling limits in force here: configuration plus the overrides last polled from Redis. */
  readonly currentLimits: () => EffectiveLimits;
  readonly limitsStore: LimitsStore;
  /** Polls the overrides at once (after a write through this producer). */
  readonly refreshLimits: () => Promise<void>;
  /** Payers and tenants with recent work, across all workers. */
  readonly schedulingState: () => Promise<SchedulingStateView>;
  /** Traces submissions when tracing is on. */
  readonly tracer?: Tracer;
  /** What /admin/status shows, read now. */
  readonly readStatus: () => Promise<StatusView>;
  /** Redact job data and results in Bull Board; off only in the test that proves the leak test works. */
  readonly redactBoard: boolean;
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  readonly limits: {
    readonly bodyBytes: number;
    readonly batchMaxItems: number;
    readonly batchBacklogLimit: number;
    readonly maxWaitSeconds: number;
    readonly idempotencyTtlSeconds: number;
    /** Longest a submission waits on Redis, in ms. */
    readonly submitTimeoutMs: number;
    /** Longest /readyz waits for DynamoDB, in ms (Redis: RedisHealth's ping timeout). */
    readonly readyTimeoutMs: number;
    /** How long a run's record is kept, in ms: as long as its longest-kept check. */
    readonly runRetentionMs: number;
  };
  /** Webhooks: which URLs endpoints may have, and how deliveries are retried and kept. */
  readonly webhooks: {
    readonly policy: WebhookUrlPolicy;
    readonly delivery: { attempts: number; backoffMs: number; keepSeconds: number };
  };
  /** Stedi's real-time endpoint the workers call (STEDI_ELIGIBILITY_ENDPOINT). */
  readonly stediEndpoint: EligibilityEndpoint;
  /** The batch route to Stedi's Batch Eligibility API (STEDI_BATCH_*). */
  readonly stediBatch: StediBatchRouteSettings;
}

/** Builds the app (not listening): the submit fast lane first, Express for everything else. */
export function createProducerApp(deps: ProducerAppDeps): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const mode = new ModeStore(deps.redis, `${deps.queuePrefix}:mode`, deps.queues);

  app.use((req, res, next) => {
    res.set(securityHeaders);
    observeRequest(deps.metrics, req.method, res, () => routeLabel(req));
    next();
  });
  app.use(BOARD_PATH, bullBoard(deps.queues, deps.boardUsers, deps.logger, deps.redactBoard));
  app.use(STATUS_PATH, statusPage(deps.boardUsers, deps.readStatus, 2_000, deps.logger));
  const parseJson = express.json({
    limit: deps.limits.bodyBytes,
    type: isJsonRequest,
    strict: true,
  });
  const jsonBody = deps.tracer ? keepTraceContext(parseJson) : parseJson;
  app.use(jsonBody);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  app.use(
    operationsRoutes({
      keys: deps.keys,
      redisHealth: deps.redisHealth,
      readyTimeoutMs: deps.limits.readyTimeoutMs,
      mode,
      metrics: deps.metrics,
      semaphoreStatus: deps.semaphoreStatus,
      schedulingState: deps.schedulingState,
      dynamoReady: deps.dynamoReady,
      logger: deps.logger,
    }),
  );
  app.use(
    limitsRoutes({
      keys: deps.keys,
      store: deps.limitsStore,
      currentLimits: deps.currentLimits,
      refreshLimits: deps.refreshLimits,
      schedulingState: deps.schedulingState,
      logger: deps.logger,
    }),
  );
  const deadlineFromNow = () => Date.now() + deps.limits.submitTimeoutMs;
  const limiter = new RateLimiter(
    deps.redis,
    deps.queuePrefix,
    deps.rateLimit.perSecond,
    deps.rateLimit.burst,
    { health: deps.redisHealth, deadlineFromNow },
  );
  const runs = new RunStore(
    deps.redis,
    deps.queuePrefix,
    deps.queues.runQueues(),
    deps.limits.runRetentionMs,
  );
  const submitter = new CheckSubmitter({
    runs,
    queues: deps.queues,
    events: deps.events,
    idempotency: new IdempotencyStore(
      deps.redis,
      deps.queuePrefix,
      deps.limits.idempotencyTtlSeconds,
      deps.queues.cipher,
    ),
    mode,
    health: deps.redisHealth,
    submitTimeoutMs: deps.limits.submitTimeoutMs,
    batchBacklogLimit: deps.limits.batchBacklogLimit,
    batchMaxItems: deps.limits.batchMaxItems,
    maxWaitSeconds: deps.limits.maxWaitSeconds,
    endpoint: deps.stediEndpoint,
    stediBatch: deps.stediBatch,
  });
  app.use(
    '/v1/eligibility',
    eligibilityRoutes({
      keys: deps.keys,
      queues: deps.queues,
      submitter,
      limiter,
    }),
  );
  app.use('/v1/runs', runRoutes({ keys: deps.keys, queues: deps.queues, runs, limiter }));
  app.use(
    '/v1/webhooks/endpoints',
    webhookRoutes({
      keys: deps.keys,
      endpoints: new WebhookEndpointStore(deps.redis, deps.queuePrefix, deps.queues.cipher),
      deliveries: new WebhookDeliveries(deps.redis, deps.queuePrefix, deps.webhooks.delivery),
      policy: deps.webhooks.policy,
      limiter,
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
    const reply = failureReply(err, deps.limits.bodyBytes);
    // Redis outages are logged once, by RedisHealth, not once per request.
    if (reply.status >= 500 && !(err instanceof RedisUnavailableError))
      deps.logger.error({ err: (err as Error).message, route: routeLabel(req) }, 'request failed');
    sendReply(res, reply);
  });
  const lane = fastSubmitLane({
    keys: deps.keys,
    limiter,
    submitter,
    jsonBody,
    bodyLimitBytes: deps.limits.bodyBytes,
    metrics: deps.metrics,
    logger: deps.logger,
  });
  const listener: RequestListener = (req, res) => {
    if (!lane(req, res)) void app(req, res);
  };
  return deps.tracer ? traceSubmissions(deps.tracer, listener) : listener;
}

function routeLabel(req: Request): string {
  if (req.originalUrl.startsWith(BOARD_PATH)) return BOARD_PATH;
  const route = (req.route as { path?: string } | undefined)?.path;
  if (!route) return 'unmatched';
  return route === '/' && req.baseUrl ? req.baseUrl : `${req.baseUrl}${route}`;
}
