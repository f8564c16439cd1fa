/** Starts the producer: connections, queues, the app, and the HTTP server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { cipherFromConfig, type Config } from '../shared/config.js';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';
import { CheckQueues } from '../shared/check-queues.js';
import { createDynamoClient } from '../shared/clients/dynamodb.js';
import { createRequestRedis, readyWithin } from '../shared/clients/redis.js';
import { ConfigError } from '../shared/errors/config-error.js';
import type { Logger } from '../shared/logger.js';
import { DynamoSemaphoreStore, inspectSemaphore } from '../shared/semaphore/index.js';
import { inspectParamsFromConfig } from '../shared/semaphore/from-config.js';
import {
  configuredLimits,
  tenantLimit,
  type EffectiveLimits,
} from '../shared/scheduling/limits.js';
import { LimitsStore } from '../shared/scheduling/limits-store.js';
import { readSchedulingState } from '../shared/scheduling/read-state.js';
import { SlotNotes } from '../shared/status/slot-notes.js';
import { tracingFromConfig, type Tracing } from '../shared/tracing/tracing.js';
import { createProducerApp } from './app.js';
import { deliverySettings, webhookUrlPolicy } from '../shared/webhooks/from-config.js';
import { parseApiKeys, tenantDefaultsOf } from './auth/api-keys.js';
import { parseBoardUsers } from './bull-board.js';
import { createProducerMetrics } from './metrics.js';
import { OnDemandQueueEvents } from './on-demand-queue-events.js';
import { readStatus } from './status/status-view.js';
import { RedisHealth } from './redis-health.js';
import { routeSettings } from './routed-submission.js';

/** Development defaults, refused in production. */
export const devCredentials = {
  apiKeys: 'local:local-dev-key:submit+read+admin',
  boardUsers: 'admin:admin-dev:admin,viewer:viewer-dev:read',
} as const;

/** A running producer. */
export interface ProducerServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the producer on `config.PORT` (0 picks a free port). */
export async function startProducer(
  config: Config,
  logger: Logger,
  overrides: { cipher?: ValueCipher; redactBoard?: boolean; tracing?: Tracing } = {},
): Promise<ProducerServer> {
  const production = config.NODE_ENV === 'production';
  if (production && (!config.API_KEYS || !config.BULL_BOARD_USERS)) {
    throw new ConfigError(['API_KEYS and BULL_BOARD_USERS: are required when NODE_ENV=production']);
  }
  const cipher = overrides.cipher ?? cipherFromConfig(config);
  const keys = parseApiKeys(config.API_KEYS ?? devCredentials.apiKeys);
  const boardUsers = parseBoardUsers(config.BULL_BOARD_USERS ?? devCredentials.boardUsers);
  // Before any connection opens, so a bad PAYER_CAP fails fast and leaks nothing.
  const configured = configuredLimits(config, tenantDefaultsOf(keys));
  let limits: EffectiveLimits = configured;
  // Tracing given by the caller (tests) is theirs to close; tracing from the config is ours.
  const ownTracing = overrides.tracing ? undefined : tracingFromConfig(config, 'producer');
  const tracing = overrides.tracing ?? ownTracing;
  // Request paths must not wait on Redis: commands time out, and fail at once while disconnected.
  const redis = createRequestRedis(config.REDIS_URL, {
    name: 'eq-producer',
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
  });
  const redisHealth = new RedisHealth(redis, { pingTimeoutMs: config.READY_TIMEOUT_MS, logger });
  // Commands fail rather than wait while the connection is not ready, so give it a moment (but
  // never hold startup on Redis: readiness tells when it is there).
  await readyWithin(redis, 2_000);
  const queues = CheckQueues.fromConfig(redis, config, cipher, tracing?.telemetry);
  const events = new OnDemandQueueEvents(redis, config.QUEUE_PREFIX, logger);
  const dynamo = createDynamoClient({
    endpoint: config.DYNAMODB_ENDPOINT,
    region: config.AWS_REGION,
  });
  const store = new DynamoSemaphoreStore(dynamo, config.SEMAPHORE_TABLE);
  const limitsStore = new LimitsStore(redis, config.QUEUE_PREFIX);
  // Workers enforce the tenant limits of API_KEYS too, and only producers read API_KEYS.
  limitsStore
    .publishTenantDefaults(tenantDefaultsOf(keys))
    .catch((err: unknown) =>
      logger.error({ err: (err as Error).message }, 'publishing tenant limits failed'),
    );
  queues.tenantWeight = (tenant) => tenantLimit(limits, tenant).weight;
  const limitsWatch = limitsStore.watch(
    configured,
    config.LIMITS_REFRESH_MS,
    (next) => {
      limits = next;
    },
    (err) => logger.error({ err: err.message }, 'reading the run-time limits failed'),
  );
  // Answer with the stored overrides from the first request on, but never hold startup on Redis.
  await Promise.race([limitsWatch.ready(), delay(2_000, undefined, { ref: false })]);
  const semaphoreStatus = () => inspectSemaphore(store, inspectParamsFromConfig(config));
  const schedulingState = () =>
    readSchedulingState(
      redis,
      config.QUEUE_PREFIX,
      limits,
      Math.min(config.STEDI_CONCURRENCY, config.PAYER_INITIAL_CONCURRENCY),
    );
  const slotNotes = new SlotNotes(
    redis,
    config.QUEUE_PREFIX,
    config.SEMAPHORE_NAME,
    config.STEDI_TIMEOUT_MS + 5_000,
  );
  const app = createProducerApp({
    keys,
    boardUsers,
    redis,
    redisHealth,
    queues,
    events,
    metrics: createProducerMetrics(queues, schedulingState),
    redactBoard: overrides.redactBoard ?? true,
    ...(tracing ? { tracer: tracing.tracer } : {}),
    logger,
    queuePrefix: config.QUEUE_PREFIX,
    semaphoreStatus,
    dynamoReady: async () => {
      await dynamo.send(new DescribeTableCommand({ TableName: config.SEMAPHORE_TABLE }));
    },
    currentLimits: () => limits,
    limitsStore,
    refreshLimits: () => limitsWatch.pollNow(),
    schedulingState,
    readStatus: () =>
      readStatus({
        semaphoreStatus,
        schedulingState,
        currentLimits: () => limits,
        queues,
        redis,
        slotNotes,
      }),
    rateLimit: { perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST },
    limits: {
      bodyBytes: config.BODY_LIMIT_BYTES,
      batchMaxItems: config.BATCH_MAX_ITEMS,
      batchBacklogLimit: config.BATCH_BACKLOG_LIMIT,
      maxWaitSeconds: config.MAX_WAIT_SECONDS,
      idempotencyTtlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      submitTimeoutMs: config.SUBMIT_TIMEOUT_MS,
      readyTimeoutMs: config.READY_TIMEOUT_MS,
      runRetentionMs:
        Math.max(config.RESULT_RETENTION_SECONDS, config.FAILED_RETENTION_SECONDS) * 1000,
    },
    webhooks: { policy: webhookUrlPolicy(config), delivery: deliverySettings(config) },
    stediEndpoint: config.STEDI_ELIGIBILITY_ENDPOINT,
    stediBatch: routeSettings(config),
  });
  const server = createServer(app).listen(config.PORT);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  logger.info({ url }, 'producer listening');
  return {
    url,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([
        events.close(),
        queues.close(),
        limitsWatch.close(),
        redisHealth.close(),
      ]);
      await redis.quit().catch(() => undefined);
      await ownTracing?.close().catch(() => undefined);
      dynamo.destroy();
    },
  };
}
