/** The scheduling limits in force, and the operator's run-time overrides of them. */
import { isDeepStrictEqual } from 'node:util';
import { Router } from 'express';
import type { ApiKey } from '../auth/api-keys.js';
import { authenticatedKey, requireScope } from '../auth/require-scope.js';
import { requireJson } from '../json-content-type.js';
import type { LimitsView } from '../limits-schemas.js';
import { toIssues, type Issue } from '../validation.js';
import type { Logger } from '../../shared/logger.js';
import {
  limitOverridesSchema,
  type EffectiveLimits,
  type LimitOverrides,
} from '../../shared/scheduling/limits.js';
import type { LimitsStore, StoredOverrides } from '../../shared/scheduling/limits-store.js';
import type { SchedulingStateView } from '../../shared/scheduling/state-view.js';

/** What the limits routes need. */
export interface LimitsDeps {
  readonly keys: readonly ApiKey[];
  readonly store: LimitsStore;
  /** The limits this producer has in force (configuration plus the last polled overrides). */
  readonly currentLimits: () => EffectiveLimits;
  /** Re-reads the overrides at once, so `currentLimits` reflects a write made here. */
  readonly refreshLimits: () => Promise<void>;
  readonly schedulingState: () => Promise<SchedulingStateView>;
  readonly logger: Logger;
}

const sections = ['payers', 'tenants', 'lending'] as const;

/** Builds the limits router (mounted at /). */
export function limitsRoutes(deps: LimitsDeps): Router {
  const router = Router();
  const view = async (stored: StoredOverrides): Promise<LimitsView> => ({
    overrides: stored.overrides,
    updatedAt: stored.updatedAt ?? null,
    updatedBy: stored.updatedBy ?? null,
    effective: deps.currentLimits(),
    state: await deps.schedulingState(),
  });

  router.get('/v1/limits', requireScope(deps.keys, 'read'), async (_req, res) => {
    res.json(await view(await deps.store.get()));
  });

  router.put('/admin/limits', requireScope(deps.keys, 'admin'), async (req, res) => {
    if (!requireJson(req, res)) return;
    const checked = checkOverrides(req.body, deps.currentLimits().realtimeReserved);
    if (!checked.ok) {
      res.status(400).json({ error: 'invalid limits', issues: checked.issues });
      return;
    }
    const actor = authenticatedKey(res).name;
    const before = await deps.store.get();
    const stored = await deps.store.set(checked.overrides, actor);
    await deps.refreshLimits();
    deps.logger.info(
      {
        audit: true,
        actor,
        action: 'set-limits',
        changed: sections.filter(
          (s) => !isDeepStrictEqual(before.overrides[s], checked.overrides[s]),
        ),
      },
      'scheduling limits changed',
    );
    res.json(await view(stored));
  });
  return router;
}

/**
 * The body as overrides, or every problem with it. The floor is checked here rather than in the
 * shared schema because its bound, STEDI_REALTIME_RESERVED, is configuration; it is checked even
 * when other fields fail so one answer names every bad field.
 */
function checkOverrides(
  body: unknown,
  realtimeReserved: number,
): { ok: true; overrides: LimitOverrides } | { ok: false; issues: Issue[] } {
  const parsed = limitOverridesSchema.safeParse(body);
  const issues = parsed.success ? [] : toIssues(parsed.error);
  const floor = (body as { lending?: { floor?: unknown } } | null | undefined)?.lending?.floor;
  if (typeof floor === 'number' && floor > realtimeReserved)
    issues.push({
      path: 'lending.floor',
      message: `must not exceed STEDI_REALTIME_RESERVED (${realtimeReserved})`,
    });
  if (parsed.success && issues.length === 0) return { ok: true, overrides: parsed.data };
  return { ok: false, issues };
}
