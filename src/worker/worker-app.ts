/**
 * A worker process: one BullMQ Worker per priority, both gating every Stedi call behind the shared
 * semaphore. Realtime and batch checks wait for slots as local semaphore waiters, realtime first;
 * a finishing call hands its slot to the next local waiter without a DynamoDB write.
 *
 * Why the job is fetched before the slot (not the reverse): BullMQ's own fetch loop then keeps
 * its locks, stalled-job recovery, retries and graceful close, and per-process concurrency bounds
 * how many checks wait "active" for a slot. Realtime never waits behind batch: it has reserved
 * slots, its own queue and worker, and it goes first among local waiters.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'bullmq';
import { cipherFromConfig, type Config } from '../shared/config.js';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';
import type { CheckJobData, CheckJobResult } from '../shared/check-job.js';
import type { Redis } from 'ioredis';
import { createRedis } from '../shared/clients/redis.js';
import { ConfigError } from '../shared/errors/config-error.js';
import type { Logger } from '../shared/logger.js';
import { queueNames, type Priority } from '../shared/queues.js';
import { semaphoreFromConfig, type ConfiguredSemaphore } from '../shared/semaphore/from-config.js';
import { LimitsStore } from '../shared/scheduling/limits-store.js';
import { SlotNotes, type SlotNote } from '../shared/status/slot-notes.js';
import { tracingFromConfig, type Tracing } from '../shared/tracing/tracing.js';
import { backOfLinePriority, fairQueueKeys } from '../shared/scheduling/fair-queue.js';
import { configuredLimits, type EffectiveLimits } from '../shared/scheduling/limits.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { realtimeHeadroom } from './scheduling/headroom-policy.js';
import { KeyScheduler } from './scheduling/key-scheduler.js';
import { checkProcessor } from './process-check.js';
import { startStediBatchRoute } from './stedi-batch/stedi-batch-route.js';
import type { BatchApiClient } from './stedi-batch/batch-api-client.js';
import { JobLockKeeper } from './job-lock-keeper.js';
import { guardStalledChecks, RedisStallGuard } from './redis-stall-guard.js';
import { DeadWorkerRecovery } from './dead-worker-recovery.js';
import { HttpStediClient } from './stedi/http-stedi-client.js';
import { startWebhooks } from './webhooks/webhooks.js';
import { AnswerCache } from './answer-cache/answer-cache.js';
import { cachedProcessor } from './answer-cache/cached-processor.js';
import type { StediClient } from './stedi/stedi-client.js';

/** A running worker process. */
export interface WorkerApp {
  readonly metrics: WorkerMetrics;
  readonly semaphore: ConfiguredSemaphore;
  /** URL of /metrics, when served. */
  readonly metricsUrl: string | undefined;
  /** Takes no new checks, lets running ones finish (bounded), releases slots, closes clients. */
  stop(): Promise<void>;
}

/** Starts a worker process's BullMQ workers, semaphore and metrics endpoint. */
export async function startWorkerApp(
  config: Config,
  logger: Logger,
  overrides: {
    stedi?: StediClient;
    cipher?: ValueCipher;
    tracing?: Tracing;
    stediBatchApi?: BatchApiClient;
  } = {},
): Promise<WorkerApp> {
  const client = overrides.stedi ?? defaultStediClient(config);
  const cipher = overrides.cipher ?? cipherFromConfig(config);
  // Tracing given by the caller (tests) is theirs to close; tracing from the config is ours.
  const ownTracing = overrides.tracing ? undefined : tracingFromConfig(config, 'worker');
  const tracing = overrides.tracing ?? ownTracing;
  // Every connection's name ends with it (the liveness signal, see dead-worker-recovery.ts), and
  // BullMQ records it on each job it activates (processedBy).
  const processName = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const connection = createRedis(config.REDIS_URL, { name: `eq-worker:${processName}` });
  const subscriber = createRedis(config.REDIS_URL, { name: `eq-worker-hints:${processName}` });
  const sem = await semaphoreFromConfig(config, { publisher: connection, subscriber });
  const metrics = createWorkerMetrics();
  metrics.allocation.set(config.STEDI_CONCURRENCY);
  metrics.realtimeReserved.set(config.STEDI_REALTIME_RESERVED);
  const shutdown = new AbortController();
  // Every check waiting for a slot listens on this one signal.
  setMaxListeners(0, shutdown.signal);
  wireSemaphoreMetrics(sem, metrics, logger);

  const workers: Partial<Record<Priority, Worker<CheckJobData, CheckJobResult>>> = {};
  const L = config.STEDI_CONCURRENCY;
  const limitsStore = new LimitsStore(connection, config.QUEUE_PREFIX);
  let limits: EffectiveLimits = configuredLimits(config);
  const calls = new CallTimeAverage();
  const fairKeys = fairQueueKeys(config.QUEUE_PREFIX);
  const batchJobPrefix = `${config.QUEUE_PREFIX}:${queueNames.batch}:`;
  const scheduler = new KeyScheduler({
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    limits: () => limits,
    rules: {
      initialConcurrency: Math.min(L, config.PAYER_INITIAL_CONCURRENCY),
      maxConcurrency: L,
      failureThreshold: config.CIRCUIT_FAILURE_THRESHOLD,
      cooldownMs: config.CIRCUIT_COOLDOWN_MS,
    },
    tokenTtlMs: config.STEDI_TIMEOUT_MS + 5_000,
    queue: {
      prioritized: fairKeys.prioritized,
      jobPrefix: batchJobPrefix,
    },
    onChange: () => {
      applyLending(sem, scheduler, limits, calls.mean(), metrics);
      sem.semaphore.recheck();
    },
    onError: (err) => logger.error({ err: err.message }, 'scheduler state unavailable'),
  });
  const limitsWatch = limitsStore.watch(
    limits,
    config.LIMITS_REFRESH_MS,
    (next) => {
      limits = next;
      sem.semaphore.setRealtimeReserved(next.lending.floor);
      logger.info({ lending: next.lending }, 'limits in force');
      sem.semaphore.recheck();
    },
    (err) => logger.error({ err: err.message }, 'reading limits failed; keeping the last ones'),
  );
  await limitsWatch.ready();
  scheduler.start();
  const slotNotes = new SlotNotes(
    connection,
    config.QUEUE_PREFIX,
    config.SEMAPHORE_NAME,
    config.STEDI_TIMEOUT_MS + 5_000,
  );
  const deps = {
    semaphore: sem.semaphore,
    stedi: client,
    scheduler,
    payerOpenRealtime: config.PAYER_OPEN_REALTIME,
    slowCallMs: config.PAYER_SLOW_CALL_MS,
    onCallTime: (ms: number) => calls.add(ms),
    // A label for operators: never in the call's way, and its loss costs nothing but the label.
    onCallStart: (call: SlotNote) =>
      void slotNotes
        .record(call)
        .catch((err: unknown) =>
          logger.debug({ err: (err as Error).message }, 'slot note not written'),
        ),
    outageMaxWaitMs: config.PAYER_OUTAGE_MAX_WAIT_MS,
    requeuePriority: (tenant: string) => backOfLinePriority(connection, fairKeys, tenant),
    // Kept in the job's own hash, so it goes when the job does (BullMQ ignores the field).
    countPark: (jobId: string) => connection.hincrby(`${batchJobPrefix}${jobId}`, 'eqParks', 1),
    metrics,
    logger,
    shutdown: shutdown.signal,
    throttleRetryMs: config.THROTTLE_RETRY_MS,
    holdsJob: (pool: Priority, jobId: string, token: string) =>
      keeper.holdsForCall(queueNames[pool], jobId, token),
    cipher,
    ...(tracing ? { tracer: tracing.tracer } : {}),
  };
  // Registered before its BullMQ workers can take a job, so every job it takes is covered.
  const recovery = config.WORKER_DEAD_AFTER_MS
    ? await startDeadWorkerRecovery(config, connection, processName, workers, logger)
    : undefined;
  // Batch may borrow every slot but the floor, so each process can fill the allocation alone.
  const concurrency: Record<Priority, number> = {
    realtime: config.WORKER_REALTIME_CONCURRENCY || L,
    batch: config.WORKER_BATCH_CONCURRENCY || L,
  };
  // Through a Redis stall longer than the job lock, this process keeps its checks and their
  // answers (job-lock-keeper.ts) and no stalled check takes them away (redis-stall-guard.ts).
  const { keeper, stallGuard } = startStallProtection(config, connection, logger, metrics);
  const answerCache =
    config.ANSWER_CACHE_MAX_AGE_SECONDS > 0
      ? new AnswerCache(
          connection,
          config.QUEUE_PREFIX,
          cipher,
          config.ANSWER_CACHE_MAX_AGE_SECONDS,
        )
      : undefined;
  const processorOf = (priority: Priority) =>
    answerCache
      ? cachedProcessor(checkProcessor(priority, deps), {
          cache: answerCache,
          cipher,
          endpoint: client.endpoint,
          metrics: metrics.answerCache,
          logger,
          leadMs: config.STEDI_TIMEOUT_MS + 10_000,
        })
      : checkProcessor(priority, deps);
  for (const priority of ['realtime', 'batch'] as const) {
    const worker = new Worker<CheckJobData, CheckJobResult>(
      queueNames[priority],
      keeper.wrap(queueNames[priority], processorOf(priority)),
      {
        connection,
        prefix: config.QUEUE_PREFIX,
        name: processName,
        concurrency: concurrency[priority],
        lockDuration: config.WORKER_LOCK_MS,
        stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
        ...(tracing ? { telemetry: tracing.telemetry } : {}),
      },
    );
    guardStalledChecks(worker, stallGuard);
    worker.on(
      'lockRenewalFailed',
      (jobIds: string[]) => void keeper.reclaimRenewals(queueNames[priority], jobIds),
    );
    worker.on('stalled', (jobId) =>
      logger.warn(
        { jobId, priority },
        'check stalled (its worker stopped renewing its lock): it runs again',
      ),
    );
    worker.on('error', (err) => {
      // A failed renewal is reclaimed above when no other worker has the check: not an error yet.
      if (err.message.startsWith('could not renew lock'))
        logger.warn({ err: err.message, priority }, 'job lock renewal failed');
      else logger.error({ err: err.message, priority }, 'worker error');
    });
    worker.on('failed', (job, err) => {
      logger.warn(
        { jobId: job?.id, priority, attemptsMade: job?.attemptsMade, reason: err.message },
        'check attempt failed',
      );
    });
    workers[priority] = worker;
  }

  const stediBatch = startStediBatchRoute(config, {
    connection,
    cipher,
    logger,
    metrics: metrics.stediBatch,
    ...(overrides.stediBatchApi ? { api: overrides.stediBatchApi } : {}),
  });
  const metricsServer = await serveMetrics(config.WORKER_METRICS_PORT, metrics, sem, scheduler);
  const metricsUrl = metricsServer
    ? `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`
    : undefined;
  logger.info(
    { concurrency, allocation: L, reserved: config.STEDI_REALTIME_RESERVED, metricsUrl },
    'worker started',
  );

  const webhooks = await startWebhooks(config, connection, cipher, logger);

  let stopping: Promise<void> | undefined;
  return {
    metrics,
    semaphore: sem,
    metricsUrl,
    stop: () =>
      (stopping ??= (async () => {
        shutdown.abort(new Error('worker shutting down'));
        // Each resource is closed even when another fails to; failures are logged, not thrown:
        // a stop() that threw here left the semaphore's slots to their lease and Redis open.
        const failed = (what: string) => (err: unknown) =>
          logger.error({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`);
        // Its connections stay open until its checks are done, so nobody takes it for dead.
        await recovery?.close().catch(failed('closing dead-worker recovery'));
        const timeoutMs = config.WORKER_SHUTDOWN_TIMEOUT_MS || config.STEDI_TIMEOUT_MS + 5_000;
        const closing = Promise.all([
          ...Object.entries(workers).map(([priority, w]) =>
            w.close().catch(failed(`closing the ${priority} worker`)),
          ),
          stediBatch.close().catch(failed('closing the batch route')),
        ]);
        const timedOut = await Promise.race([
          closing.then(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
        ]);
        if (timedOut)
          logger.warn(
            { timeoutMs },
            'shutdown timeout: calls still running are abandoned; their slots stay taken until their bound',
          );
        await Promise.all([
          limitsWatch.close().catch(failed('closing the limits watch')),
          scheduler.close().catch(failed('closing the scheduler')),
          stallGuard.close().catch(failed('closing the Redis stall guard')),
          webhooks.close().catch(failed('closing webhooks')),
        ]);
        await sem.close().catch(failed('closing the semaphore'));
        metricsServer?.close();
        await Promise.all([
          connection.quit().catch(failed('closing the Redis connection')),
          subscriber.quit().catch(failed('closing the Redis subscriber')),
        ]);
        await ownTracing?.close().catch(failed('exporting the last traces'));
        logger.info('worker stopped');
      })()),
  };
}

/** The job lock keeper and the Redis stall guard that tells it of stalls. */
function startStallProtection(
  config: Config,
  connection: Redis,
  logger: Logger,
  metrics: WorkerMetrics,
): { keeper: JobLockKeeper; stallGuard: RedisStallGuard } {
  const keeper = new JobLockKeeper({
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    lockMs: config.WORKER_LOCK_MS,
    logger,
    count: (what) => metrics.redisStallRecovery.inc({ what }),
  });
  // Locks are renewed every half of WORKER_LOCK_MS, so only a stall past a quarter of it can
  // cost one: probes every quarter, and a PING unanswered for a quarter (at most 1 s) is a stall.
  const quarterLock = Math.floor(config.WORKER_LOCK_MS / 4);
  const stallGuard = new RedisStallGuard(connection, {
    pingTimeoutMs: Math.min(1_000, quarterLock),
    probeEveryMs: quarterLock,
    graceMs: config.WORKER_LOCK_MS,
    onStall: () => {
      keeper.noteTrouble();
      logger.warn('Redis does not answer: stalled-job checks wait until it does');
    },
    onStallEnded: (stalledMs) => {
      logger.warn(
        { stalledMs, graceMs: config.WORKER_LOCK_MS },
        'Redis answers again: reclaiming job locks; stalled-job checks resume after the grace period',
      );
      void keeper.reclaimAll();
    },
  });
  stallGuard.start();
  return { keeper, stallGuard };
}

/**
 * Registers this process and starts looking for dead ones; registers again after every reconnect,
 * in case Redis lost the registry. `workers` is filled in by the caller once they exist.
 */
async function startDeadWorkerRecovery(
  config: Config,
  connection: Redis,
  processName: string,
  workers: Partial<Record<Priority, Worker<CheckJobData, CheckJobResult>>>,
  logger: Logger,
): Promise<DeadWorkerRecovery> {
  let failures = 0;
  let loggedAt = 0;
  const recovery = new DeadWorkerRecovery({
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    processName,
    deadAfterMs: config.WORKER_DEAD_AFTER_MS,
    checkEveryMs: config.WORKER_LIVENESS_CHECK_MS,
    queues: (['realtime', 'batch'] as const).map((priority) => ({
      name: queueNames[priority],
      checkStalledNow: async () => workers[priority]?.startStalledCheckTimer(),
    })),
    onRecovered: (name, checks) =>
      logger.warn({ process: name, checks }, 'worker process gone: its checks go back to wait'),
    onError: (err) => {
      // Every interval while Redis is away, or refuses CLIENT LIST: counted, logged once a minute.
      failures++;
      if (Date.now() - loggedAt < 60_000) return;
      logger.error({ err: err.message, failures }, 'dead-worker check failed');
      loggedAt = Date.now();
      failures = 0;
    },
  });
  connection.on('ready', () => {
    recovery.register().catch((err: Error) => {
      logger.error({ err: err.message }, 'worker registration failed');
    });
  });
  connection.on('close', () => recovery.disconnected());
  await recovery.register();
  recovery.start();
  return recovery;
}

/** Mean call time over recent calls (exponentially weighted), for the lending policy. */
class CallTimeAverage {
  private value: number | undefined;

  add(ms: number): void {
    this.value = this.value === undefined ? ms : this.value * 0.95 + ms * 0.05;
  }

  /** The mean, or 1 s before any call has finished. */
  mean(): number {
    return this.value ?? 1_000;
  }
}

/** Sets the semaphore's headroom from recent realtime arrivals and call times. */
function applyLending(
  sem: ConfiguredSemaphore,
  scheduler: KeyScheduler,
  limits: EffectiveLimits,
  meanCallMs: number,
  metrics: WorkerMetrics,
): void {
  const headroom = realtimeHeadroom({
    realtimeArrivalsPerMs: scheduler.realtimeArrivalsPerMs(),
    meanCallMs,
    allocation: limits.allocation,
    floor: limits.lending.floor,
    reserve: limits.realtimeReserved,
    waitTargetMs: limits.lending.waitTargetMs,
    waitPercentile: limits.lending.waitPercentile,
  });
  sem.semaphore.setHeadroom(headroom);
  // A waiting realtime check needs one release; one comes every meanCallMs / L on average.
  sem.semaphore.setRealtimeDemandMs(
    Math.min(500, Math.max(20, (3 * meanCallMs) / limits.allocation)),
  );
  metrics.realtimeHeadroom.set(headroom);
}

function defaultStediClient(config: Config): StediClient {
  if (!config.STEDI_API_KEY) {
    throw new ConfigError([
      'STEDI_API_KEY: is required by the worker (the simulator accepts dev-key)',
    ]);
  }
  return new HttpStediClient({
    baseUrl: config.STEDI_BASE_URL,
    apiKey: config.STEDI_API_KEY,
    authScheme: config.STEDI_AUTH_SCHEME,
    endpoint: config.STEDI_ELIGIBILITY_ENDPOINT,
    timeoutMs: config.STEDI_TIMEOUT_MS,
  });
}

function wireSemaphoreMetrics(
  sem: ConfiguredSemaphore,
  metrics: WorkerMetrics,
  logger: Logger,
): void {
  sem.semaphore.on('renewed', () => metrics.leaseRenewals.inc());
  sem.semaphore.on('acquired', (e) =>
    metrics.slotWaitSeconds.observe(
      { pool: e.pool, handed_over: String(e.handedOver) },
      e.waitedMs / 1000,
    ),
  );
  sem.semaphore.on('leaseLost', (err) => {
    metrics.leasesLost.inc();
    logger.error({ slot: err.slot, reason: err.message }, 'semaphore lease lost');
  });
  sem.semaphore.on('error', (err) => logger.error({ err: err.message }, 'semaphore error'));
}

/** Sets the per-payer and per-tenant gauges from the scheduler's view (only keys in use here). */
function updateKeyMetrics(metrics: WorkerMetrics, scheduler: KeyScheduler): void {
  const view = scheduler.snapshot();
  for (const g of [
    metrics.payerInFlight,
    metrics.payerEarned,
    metrics.payerBreakerOpen,
    metrics.payerWaiting,
    metrics.tenantInFlight,
    metrics.tenantWaiting,
  ])
    g.reset();
  for (const p of view.payers) {
    metrics.payerInFlight.set({ payer: p.payer }, p.inFlight);
    if (p.earned !== undefined) metrics.payerEarned.set({ payer: p.payer }, Math.floor(p.earned));
    metrics.payerBreakerOpen.set({ payer: p.payer }, p.open ? 1 : 0);
    metrics.payerWaiting.set({ payer: p.payer }, view.waitingByPayer.get(p.payer) ?? 0);
  }
  for (const t of view.tenants) metrics.tenantInFlight.set({ tenant: t.tenant }, t.inFlight);
  for (const [tenant, n] of view.waitingByTenant) metrics.tenantWaiting.set({ tenant }, n);
}

async function serveMetrics(
  port: number,
  metrics: WorkerMetrics,
  sem: ConfiguredSemaphore,
  scheduler: KeyScheduler,
): Promise<Server | undefined> {
  if (port < 0) return undefined;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metrics.dynamoRequests.set(sem.dynamoRequests());
    updateKeyMetrics(metrics, scheduler);
    metrics.registry
      .metrics()
      .then((text) =>
        res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      )
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  server.unref();
  return server;
}
