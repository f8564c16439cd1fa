/** Health, readiness, metrics, the operator mode, and the semaphore and scheduler views. */
import { Router } from 'express';
import { modeSchema } from '../api-schemas.js';
import type { ApiKey } from '../auth/api-keys.js';
import { apiKeyOf, requireScope } from '../auth/require-scope.js';
import type { ModeStore } from '../operating-mode.js';
import type { RedisHealth } from '../redis-health.js';
import type { ProducerMetrics } from '../metrics.js';
import { toIssues } from '../validation.js';
import type { SemaphoreStatus } from '../../shared/semaphore/index.js';
import type { SchedulingStateView } from '../../shared/scheduling/state-view.js';
import type { Logger } from '../../shared/logger.js';

/** What the operations routes need. */
export interface OperationsDeps {
  readonly keys: readonly ApiKey[];
  readonly redisHealth: Pick<RedisHealth, 'ready'>;
  /** Longest /readyz waits for DynamoDB, in ms. */
  readonly readyTimeoutMs: number;
  readonly mode: ModeStore;
  readonly metrics: ProducerMetrics;
  readonly semaphoreStatus: () => Promise<SemaphoreStatus>;
  readonly schedulingState: () => Promise<SchedulingStateView>;
  /** Resolves when DynamoDB answers. */
  readonly dynamoReady: () => Promise<void>;
  readonly logger: Logger;
}

/** Builds the operations router (mounted at /). */
export function operationsRoutes(deps: OperationsDeps): Router {
  const router = Router();
  // Liveness only: a producer whose Redis is down is not fixed by restarting it, and restarting
  // every producer at once during a Redis outage would only add to it. Readiness says the rest.
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    // Each dependency answers within its bound or counts as unreachable: a load balancer asking
    // must get an answer, and a stopped Redis or DynamoDB would otherwise give none.
    const [redisOk, dynamoOk] = await Promise.all([
      deps.redisHealth.ready().catch(() => false),
      answersWithin(deps.dynamoReady(), deps.readyTimeoutMs),
    ]);
    const redis = redisOk ? 'ok' : 'unreachable';
    const dynamo = dynamoOk ? 'ok' : 'unreachable';
    const ready = redisOk && dynamoOk;
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'not ready', redis, dynamodb: dynamo });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.scrape());
  });
  router.get('/v1/concurrency', requireScope(deps.keys, 'read'), async (_req, res) => {
    const [semaphore, state] = await Promise.all([deps.semaphoreStatus(), deps.schedulingState()]);
    res.json({
      ...semaphore,
      byPayer: Object.fromEntries(state.payers.map((p) => [p.payer, p.inFlight])),
      byTenant: Object.fromEntries(state.tenants.map((t) => [t.tenant, t.inFlight])),
    });
  });
  const admin = requireScope(deps.keys, 'admin');
  router.get('/admin/mode', admin, async (_req, res) => {
    res.json({ mode: await deps.mode.get() });
  });
  router.post('/admin/mode', admin, async (req, res) => {
    const parsed = modeSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid mode', issues: toIssues(parsed.error) });
      return;
    }
    await deps.mode.set(parsed.data.mode);
    deps.logger.info(
      { audit: true, actor: apiKeyOf(res)?.name, action: 'set-mode', mode: parsed.data.mode },
      'operator mode changed',
    );
    res.json({ mode: parsed.data.mode });
  });
  return router;
}

/** Whether `check` resolves within `ms`; a rejection or no answer in time is false. */
async function answersWithin(check: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      check.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
