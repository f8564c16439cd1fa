/** Health, readiness, metrics, the operator mode, and the semaphore and scheduler views. */
import { Router } from 'express';
import type { Redis } from 'ioredis';
import { modeSchema } from '../api-schemas.js';
import type { ApiKey } from '../auth/api-keys.js';
import { apiKeyOf, requireScope } from '../auth/require-scope.js';
import type { ModeStore } from '../operating-mode.js';
import type { ProducerMetrics } from '../metrics.js';
import { toIssues } from '../validation.js';
import type { SemaphoreStatus } from '../../shared/semaphore/index.js';
import type { SchedulingStateView } from '../../shared/scheduling/state-view.js';
import type { Logger } from '../../shared/logger.js';

/** What the operations routes need. */
export interface OperationsDeps {
  readonly keys: readonly ApiKey[];
  readonly redis: Redis;
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
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([deps.redis.ping(), deps.dynamoReady()]);
    const [redis, dynamo] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unreachable'));
    const ready = redis === 'ok' && dynamo === 'ok';
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
