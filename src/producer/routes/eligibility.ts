/** /v1/eligibility: submit checks (one or a batch), read their status and result, cancel them. */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { QueueEvents } from 'bullmq';
import type { CheckQueues } from '../../shared/check-queues.js';
import { newCheckId } from '../../shared/check-queues.js';
import type { Priority } from '../../shared/queues.js';
import { submitBatchSchema, submitCheckSchema } from '../api-schemas.js';
import type { ApiKey } from '../auth/api-keys.js';
import { apiKeyOf, requireScope } from '../auth/require-scope.js';
import { apiStatus, checkView } from '../check-view.js';
import type { IdempotencyStore } from '../idempotency.js';
import type { ModeStore } from '../operating-mode.js';
import { toIssues } from '../validation.js';
import type { RateLimiter } from '../rate-limiter.js';

/** What the eligibility routes need. */
export interface EligibilityRouteDeps {
  readonly keys: readonly ApiKey[];
  readonly queues: CheckQueues;
  readonly events: Readonly<Record<Priority, QueueEvents>>;
  readonly idempotency: IdempotencyStore;
  readonly mode: ModeStore;
  readonly batchMaxItems: number;
  readonly batchBacklogLimit: number;
  readonly maxWaitSeconds: number;
  readonly limiter: RateLimiter;
}

/** Builds the router mounted at /v1/eligibility. */
export function eligibilityRoutes(deps: EligibilityRouteDeps): Router {
  const router = Router();
  const limit = deps.limiter.middleware();
  const submit: RequestHandler[] = [requireScope(deps.keys, 'submit'), limit];
  const read: RequestHandler[] = [requireScope(deps.keys, 'read'), limit];

  router.post('/', ...submit, async (req, res) => {
    if (!requireJson(req, res)) return;
    const parsed = submitCheckSchema.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid eligibility check', issues: toIssues(parsed.error) });
      return;
    }
    const wait = parseWait(req, res, deps.maxWaitSeconds);
    if (wait === null) return;
    const { priority, request } = parsed.data;
    if (!(await admit(priority, 1, res))) return;
    const key = apiKeyOf(res);
    const idemKey = req.get('idempotency-key');
    let checkId = newCheckId(priority);
    let reused = false;
    if (idemKey !== undefined) {
      if (idemKey.length < 1 || idemKey.length > 200) {
        res.status(400).json({ error: 'Idempotency-Key must have 1 to 200 characters' });
        return;
      }
      const r = await deps.idempotency.reserve(key?.name ?? '', idemKey, parsed.data, checkId);
      if (r.kind === 'conflict') {
        res.status(409).json({ error: 'Idempotency-Key was already used with a different body' });
        return;
      }
      if (r.kind === 'existing') {
        checkId = r.checkId;
        reused = true;
      }
    }
    let job = reused ? await deps.queues.get(checkId) : undefined;
    if (!job) {
      try {
        job = await deps.queues.add(priority, request, {
          jobId: checkId,
          ...(key ? { submittedBy: key.name } : {}),
        });
      } catch (err) {
        if (idemKey !== undefined) await deps.idempotency.forget(key?.name ?? '', idemKey);
        throw err;
      }
      if (wait === 0) {
        res
          .status(202)
          .location(`/v1/eligibility/${checkId}`)
          .json(checkView(job, 'waiting', deps.queues.cipher));
        return;
      }
    }
    if (wait > 0) {
      try {
        await job.waitUntilFinished(deps.events[priority], wait * 1000);
      } catch {
        // Failed, or still running at the deadline: either way the state below tells.
      }
    }
    const fresh = (await deps.queues.get(checkId)) ?? job;
    const state = apiStatus(await fresh.getState()) ?? 'waiting';
    const finished = state === 'completed' || state === 'failed';
    res
      .status(finished && wait > 0 ? 200 : 202)
      .location(`/v1/eligibility/${checkId}`)
      .json(checkView(fresh, state, deps.queues.cipher));
  });

  router.post('/batch', ...submit, async (req, res) => {
    if (!requireJson(req, res)) return;
    const parsed = submitBatchSchema.safeParse(req.body);
    if (!parsed.success) {
      res
        .status(400)
        .json({ error: 'invalid batch: nothing was enqueued', issues: toIssues(parsed.error) });
      return;
    }
    const { items } = parsed.data;
    if (items.length > deps.batchMaxItems) {
      res.status(400).json({
        error: 'invalid batch: nothing was enqueued',
        issues: [
          {
            path: 'items',
            message: `must hold at most ${deps.batchMaxItems} requests (got ${items.length})`,
          },
        ],
      });
      return;
    }
    if (!(await admit('batch', items.length, res))) return;
    const jobs = await deps.queues.addBulk('batch', items, apiKeyOf(res)?.name);
    res.status(202).json({
      count: jobs.length,
      checks: jobs.map((j) => ({
        id: j.id,
        status: 'waiting',
        links: { self: `/v1/eligibility/${j.id ?? ''}` },
      })),
    });
  });

  router.get('/:id', ...read, async (req, res) => {
    const job = await deps.queues.get(String(req.params.id));
    const status = job ? apiStatus(await job.getState()) : undefined;
    if (!job || !status) {
      res.status(404).json({ error: `no check with id ${String(req.params.id)}` });
      return;
    }
    res.json(checkView(job, status, deps.queues.cipher));
  });

  router.delete('/:id', ...submit, async (req, res) => {
    const job = await deps.queues.get(String(req.params.id));
    const status = job ? apiStatus(await job.getState()) : undefined;
    if (!job || !status) {
      res.status(404).json({ error: `no check with id ${String(req.params.id)}` });
      return;
    }
    if (status !== 'waiting' && status !== 'delayed') {
      res
        .status(409)
        .json({ error: `check is ${status}; only waiting or delayed checks can be cancelled` });
      return;
    }
    try {
      await job.remove();
    } catch {
      res.status(409).json({ error: 'check started meanwhile and can no longer be cancelled' });
      return;
    }
    res.json({ id: job.id, status: 'cancelled' });
  });

  /** Refuses work in draining/maintenance mode (503) and batch work past the backlog limit (429). */
  async function admit(priority: Priority, count: number, res: Response): Promise<boolean> {
    const mode = await deps.mode.get();
    if (mode !== 'normal') {
      res
        .status(503)
        .set('Retry-After', '60')
        .json({ error: `the service is in ${mode} mode and takes no new checks` });
      return false;
    }
    if (priority === 'batch') {
      const counts = await deps.queues.queues.batch.getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
      );
      const backlog = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
      if (backlog + count > deps.batchBacklogLimit) {
        res
          .status(429)
          .set('Retry-After', '30')
          .json({ error: `batch backlog is full (${backlog} waiting); retry later` });
        return false;
      }
    }
    return true;
  }

  return router;
}

function requireJson(req: Request, res: Response): boolean {
  if (req.is('application/json')) return true;
  res.status(415).json({ error: 'Content-Type must be application/json' });
  return false;
}

/** `?wait=` in seconds, bounded; null after answering 400. */
function parseWait(req: Request, res: Response, max: number): number | null {
  const raw = req.query.wait;
  if (raw === undefined) return 0;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n > max) {
    res.status(400).json({
      error: 'invalid query',
      issues: [{ path: 'wait', message: `must be whole seconds from 0 to ${max}` }],
    });
    return null;
  }
  return n;
}
