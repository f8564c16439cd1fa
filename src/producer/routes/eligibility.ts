/** /v1/eligibility: submit checks (one or a batch), read their status and result, cancel them. */
import { Router, type RequestHandler, type Response } from 'express';
import type { CheckQueues } from '../../shared/check-queues.js';
import { isRoutedCheck } from '../../shared/stedi-batch/routed-jobs.js';
import type { ApiKey } from '../auth/api-keys.js';
import { authenticatedKey, requireScope } from '../auth/require-scope.js';
import { apiStatus, checkView } from '../check-view.js';
import type { CheckSubmitter } from '../check-submitter.js';
import { requireJson } from '../json-content-type.js';
import { deadlineOf, type RateLimiter } from '../rate-limiter.js';
import { sendReply } from '../reply.js';

/** What the eligibility routes need. */
export interface EligibilityRouteDeps {
  readonly keys: readonly ApiKey[];
  readonly queues: CheckQueues;
  readonly submitter: CheckSubmitter;
  readonly limiter: RateLimiter;
}

/** Builds the router mounted at /v1/eligibility. */
export function eligibilityRoutes(deps: EligibilityRouteDeps): Router {
  const router = Router();
  const limit = deps.limiter.middleware();
  // A submission's Redis work, rate limit included, shares one deadline from its arrival.
  const startDeadline: RequestHandler = (_req, res, next) => {
    res.locals.deadline = deps.submitter.deadlineFromNow();
    next();
  };
  const submit: RequestHandler[] = [startDeadline, requireScope(deps.keys, 'submit'), limit];
  const read: RequestHandler[] = [requireScope(deps.keys, 'read'), limit];

  // The same answers as the fast lane (fast-submit.ts), for paths it leaves to Express.
  router.post('/', ...submit, async (req, res) => {
    if (!requireJson(req, res)) return;
    sendReply(
      res,
      await deps.submitter.submitOne({
        key: authenticatedKey(res),
        body: req.body,
        wait: req.query.wait,
        idempotencyKey: req.get('idempotency-key'),
        cacheControl: req.get('cache-control'),
        ...deadline(res),
      }),
    );
  });

  router.post('/batch', ...submit, async (req, res) => {
    if (!requireJson(req, res)) return;
    sendReply(
      res,
      await deps.submitter.submitBatch({
        key: authenticatedKey(res),
        body: req.body,
        idempotencyKey: req.get('idempotency-key'),
        cacheControl: req.get('cache-control'),
        ...deadline(res),
      }),
    );
  });

  router.get('/:id', ...read, async (req, res) => {
    let job = await deps.queues.get(String(req.params.id));
    const status = job ? apiStatus(await job.getState()) : undefined;
    // The job may have finished between reading it and reading its state: read it again.
    if (job && (status === 'completed' || status === 'failed') && !job.finishedOn)
      job = (await deps.queues.get(String(req.params.id))) ?? job;
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
    if (isRoutedCheck(job.data) && job.data.stediBatchId) {
      res.status(409).json({
        error: "check is at Stedi's Batch Eligibility API and can no longer be cancelled",
      });
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

  return router;
}

function deadline(res: Response): { deadline?: number } {
  const d = deadlineOf(res);
  return d === undefined ? {} : { deadline: d };
}
