/**
 * Submitting checks, independent of the HTTP layer: admission (operator mode, batch backlog),
 * validation, idempotency, the enqueue and the optional wait for the answer. The Express routes
 * and the submit fast lane both answer through it, so they cannot drift apart.
 *
 * Everything a submission asks of Redis runs under one deadline (SUBMIT_TIMEOUT_MS from the
 * request's arrival): past it, or at once while Redis is known not to answer, the answer is 503
 * with Retry-After. What was already sent may still land when Redis answers again, which is why
 * an Idempotency-Key retry must, and does, find the same check.
 */
import type { CheckJob, CheckQueues } from '../shared/check-queues.js';
import { batchCheckIds, newCheckId } from '../shared/check-queues.js';
import type { Priority } from '../shared/queues.js';
import type { RunStore } from '../shared/runs/run-store.js';
import type { CheckRequest } from '../shared/schemas/check-request.js';
import type { EligibilityEndpoint } from '../shared/stedi-api.js';
import { submitBatchSchema, submitCheckSchema } from './api-schemas.js';
import type { ApiKey } from './auth/api-keys.js';
import { BatchBacklog } from './batch-backlog.js';
import { apiStatus, checkPath, checkView } from './check-view.js';
import { runPath } from './runs/run-view.js';
import type { IdempotencyStore } from './idempotency.js';
import type { ModeStore } from './operating-mode.js';
import type { OnDemandQueueEvents } from './on-demand-queue-events.js';
import type { RedisHealth } from './redis-health.js';
import { RedisUnavailableError } from './redis-unavailable-error.js';
import { errorReply, redisUnavailableReply, type Reply } from './reply.js';
import { conversionIssues, toIssues } from './validation.js';
import {
  enqueueRouted,
  routedIssues,
  routeOf,
  type StediBatchRouteSettings,
} from './routed-submission.js';

/** What submitting needs. */
export interface CheckSubmitterDeps {
  readonly queues: CheckQueues;
  readonly events: Pick<OnDemandQueueEvents, 'get'>;
  readonly idempotency: IdempotencyStore;
  /** Each batch POST is a run. */
  readonly runs: RunStore;
  readonly mode: ModeStore;
  readonly health: RedisHealth;
  /** Longest a submission waits on Redis, in ms, when the caller sets no deadline. */
  readonly submitTimeoutMs: number;
  readonly batchBacklogLimit: number;
  readonly batchMaxItems: number;
  readonly maxWaitSeconds: number;
  /** Stedi's real-time endpoint the workers call: requests it cannot take are refused here. */
  readonly endpoint: EligibilityEndpoint;
  /** The batch route to Stedi's Batch Eligibility API (STEDI_BATCH_*). */
  readonly stediBatch: StediBatchRouteSettings;
}

/** One POST /v1/eligibility, already authenticated and parsed from JSON. */
export interface SubmitOne {
  readonly key: ApiKey;
  readonly body: unknown;
  /** The raw `wait` query value: absent, a string, or repeated (an array). */
  readonly wait: unknown;
  readonly idempotencyKey: string | undefined;
  /** The `Cache-Control` header: `max-age=N` bounds a cached answer's age, `no-cache` refuses one. */
  readonly cacheControl?: string | undefined;
  /** When the Redis work must be done (epoch ms); SUBMIT_TIMEOUT_MS from now when absent. */
  readonly deadline?: number;
}

/** One POST /v1/eligibility/batch, already authenticated and parsed from JSON. */
export interface SubmitBatch {
  readonly key: ApiKey;
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  /** As for one check. */
  readonly cacheControl?: string | undefined;
  readonly deadline?: number;
}

/** Admits, validates, enqueues and (optionally) waits; every outcome is a Reply. */
export class CheckSubmitter {
  private readonly backlog: BatchBacklog;

  constructor(private readonly deps: CheckSubmitterDeps) {
    this.backlog = new BatchBacklog(deps.queues.queues.batch);
  }

  /** The deadline of a submission arriving now. */
  deadlineFromNow(): number {
    return Date.now() + this.deps.submitTimeoutMs;
  }

  /** Handles one single-check submission. */
  async submitOne(input: SubmitOne): Promise<Reply> {
    const { deps } = this;
    const parsed = submitCheckSchema.safeParse(input.body);
    if (!parsed.success)
      return errorReply(400, 'invalid eligibility check', { issues: toIssues(parsed.error) });
    const wait = parseWait(input.wait, deps.maxWaitSeconds);
    if (typeof wait !== 'number') return wait;
    const unmappable = conversionIssues(parsed.data.request, deps.endpoint, 'request');
    if (unmappable.length > 0)
      return errorReply(400, `invalid eligibility check for Stedi's ${deps.endpoint} endpoint`, {
        issues: unmappable,
      });
    const badKey = checkIdempotencyKey(input.idempotencyKey);
    if (badKey) return badKey;
    const cacheMaxAge = parseCacheControl(input.cacheControl);
    if (typeof cacheMaxAge === 'object') return cacheMaxAge;
    const enqueued = await this.withinDeadline(input.deadline, () =>
      this.enqueueOne(input.key, parsed.data, input.idempotencyKey, cacheMaxAge),
    );
    if (!('job' in enqueued)) return enqueued;
    let { job } = enqueued;
    const location = { Location: checkPath(enqueued.checkId) };
    if (enqueued.added && wait === 0)
      return {
        status: 202,
        headers: location,
        body: checkView(job, 'waiting', deps.queues.cipher),
      };
    if (wait > 0) {
      try {
        await job.waitUntilFinished(deps.events.get(parsed.data.priority), wait * 1000);
      } catch {
        // Failed, or still running at the deadline: either way the state below tells.
      }
      // Re-read only after a wait: without one, the job read above is current.
      job = (await deps.queues.get(enqueued.checkId)) ?? job;
    }
    const state = apiStatus(await job.getState()) ?? 'waiting';
    const finished = state === 'completed' || state === 'failed';
    return {
      status: finished && wait > 0 ? 200 : 202,
      headers: location,
      body: checkView(job, state, deps.queues.cipher),
    };
  }

  /** Handles one batch submission: all items valid and admitted, or nothing enqueued. */
  async submitBatch(input: SubmitBatch): Promise<Reply> {
    const refusedAs = 'invalid batch: nothing was enqueued';
    const parsed = submitBatchSchema.safeParse(input.body);
    if (!parsed.success) return errorReply(400, refusedAs, { issues: toIssues(parsed.error) });
    const { items, route: asked, maxRetryHours } = parsed.data;
    const max = this.deps.batchMaxItems;
    if (items.length > max)
      return errorReply(400, refusedAs, {
        issues: [
          { path: 'items', message: `must hold at most ${max} requests (got ${items.length})` },
        ],
      });
    const route = routeOf(asked, items.length, this.deps.stediBatch);
    if (route === 'stedi-batch') {
      const unfit = routedIssues(items);
      if (unfit.length > 0) return errorReply(400, refusedAs, { issues: unfit });
      const badKey = checkIdempotencyKey(input.idempotencyKey);
      if (badKey) return badKey;
      return this.withinDeadline(input.deadline, () =>
        this.enqueueRouted(input.key, items, maxRetryHours, input.idempotencyKey),
      );
    }
    if (maxRetryHours !== undefined)
      return errorReply(400, refusedAs, {
        issues: [
          {
            path: 'maxRetryHours',
            message:
              "applies only to checks routed to Stedi's Batch Eligibility API (route stedi-batch)",
          },
        ],
      });
    const unmappable = items.flatMap((item, i) =>
      conversionIssues(item, this.deps.endpoint, `items.${i}`),
    );
    if (unmappable.length > 0) return errorReply(400, refusedAs, { issues: unmappable });
    const badKey = checkIdempotencyKey(input.idempotencyKey);
    if (badKey) return badKey;
    const cacheMaxAge = parseCacheControl(input.cacheControl);
    if (typeof cacheMaxAge === 'object') return cacheMaxAge;
    return this.withinDeadline(input.deadline, () =>
      this.enqueueBatch(input.key, items, input.idempotencyKey, cacheMaxAge),
    );
  }

  /** Admission, idempotency and the enqueue of one check: the job, or the refusal. */
  private async enqueueOne(
    key: ApiKey,
    body: { priority: Priority; request: CheckRequest },
    idemKey: string | undefined,
    cacheMaxAgeSeconds: number | undefined,
  ): Promise<Reply | { job: CheckJob; checkId: string; added: boolean }> {
    const { deps } = this;
    const { priority, request } = body;
    const refused = await this.admit(priority, 1);
    if (refused) return refused;
    const fresh = newCheckId(priority);
    const checkId = await this.reserveId(key, idemKey, body, fresh);
    if (typeof checkId !== 'string') return checkId;
    if (checkId !== fresh) {
      const job = await deps.queues.get(checkId);
      if (job) return { job, checkId, added: false };
      // Reserved by a request whose enqueue failed or timed out (and may still land): enqueue
      // under the same id, which BullMQ adds at most once.
    }
    const job = await deps.queues.add(priority, request, {
      jobId: checkId,
      submittedBy: key.name,
      ...(cacheMaxAgeSeconds !== undefined ? { cacheMaxAgeSeconds } : {}),
    });
    if (priority === 'batch') this.backlog.added(1);
    return { job, checkId, added: true };
  }

  private async enqueueBatch(
    key: ApiKey,
    items: CheckRequest[],
    idemKey: string | undefined,
    cacheMaxAge: number | undefined,
  ): Promise<Reply> {
    const refused = await this.admit('batch', items.length);
    if (refused) return refused;
    // Its own namespace: a single check's body never matches a batch's.
    const batchId = await this.reserveId(key, idemKey, { batch: items }, newCheckId('batch'));
    if (typeof batchId !== 'string') return batchId;
    const ids = batchCheckIds(batchId, items.length);
    // The run exists before its checks, so none can finish unseen by it. A retry of a run that
    // was cancelled meanwhile must not bring its removed checks back.
    const { cancelled } = await this.deps.runs.create(batchId, key.name, items.length);
    if (!cancelled) {
      const jobs = await this.deps.queues.addBulk('batch', items, key.name, ids, cacheMaxAge);
      this.backlog.added(jobs.length);
    }
    return {
      status: 202,
      headers: { Location: runPath(batchId) },
      body: {
        runId: batchId,
        count: ids.length,
        checks: ids.map((id) => ({ id, status: 'waiting', links: { self: checkPath(id) } })),
        links: { run: runPath(batchId) },
      },
    };
  }

  /**
   * A run routed to Stedi's Batch Eligibility API. Its checks wait at Stedi, not in our batch
   * queue, so the backlog limit does not apply; an Idempotency-Key gives a retry the same run
   * (its ids derive from the reserved one, and BullMQ adds a job id once).
   */
  private async enqueueRouted(
    key: ApiKey,
    items: CheckRequest[],
    maxRetryHours: number | undefined,
    idemKey: string | undefined,
  ): Promise<Reply> {
    const refused = await this.admit('realtime', items.length);
    if (refused) return refused;
    const body = { batch: items, route: 'stedi-batch', maxRetryHours };
    const runId = await this.reserveId(key, idemKey, body, newCheckId('batch'));
    if (typeof runId !== 'string') return runId;
    // A run like any other (see enqueueBatch), its checks in the routed queue.
    const { cancelled } = await this.deps.runs.create(runId, key.name, items.length, {
      route: 'stedi-batch',
    });
    return enqueueRouted(
      this.deps.queues,
      items,
      { submittedBy: key.name, maxRetryHours, runId, enqueue: !cancelled },
      this.deps.stediBatch,
    );
  }

  /**
   * The id a submission enqueues under: `fresh`, unless an earlier request with the same
   * Idempotency-Key and body reserved another; the 409 when the key came with another body.
   */
  private async reserveId(
    key: ApiKey,
    idemKey: string | undefined,
    body: unknown,
    fresh: string,
  ): Promise<string | Reply> {
    if (idemKey === undefined) return fresh;
    const r = await this.deps.idempotency.reserve(key.name, idemKey, body, fresh);
    if (r.kind === 'conflict')
      return errorReply(409, 'Idempotency-Key was already used with a different body');
    return r.kind === 'existing' ? r.id : fresh;
  }

  /** Runs a submission's Redis work by its deadline; 503 if Redis does not answer by then. */
  private async withinDeadline<T>(
    deadline: number | undefined,
    work: () => Promise<T>,
  ): Promise<T | Reply> {
    try {
      return await this.deps.health.run(work, deadline ?? this.deadlineFromNow());
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      return redisUnavailableReply(err);
    }
  }

  /** Refuses work in draining/maintenance mode (503) and batch work past the backlog limit (429). */
  private async admit(priority: Priority, count: number): Promise<Reply | undefined> {
    const mode = await this.deps.mode.get();
    if (mode !== 'normal')
      return errorReply(503, `the service is in ${mode} mode and takes no new checks`, {
        headers: { 'Retry-After': '60' },
      });
    if (priority !== 'batch') return undefined;
    const backlog = await this.backlog.size();
    if (backlog + count <= this.deps.batchBacklogLimit) return undefined;
    return errorReply(429, `batch backlog is full (${backlog} waiting); retry later`, {
      headers: { 'Retry-After': '30' },
    });
  }
}

/** The 400 of an Idempotency-Key of the wrong length; undefined when absent or fine. */
function checkIdempotencyKey(key: string | undefined): Reply | undefined {
  if (key === undefined || (key.length >= 1 && key.length <= 200)) return undefined;
  return errorReply(400, 'Idempotency-Key must have 1 to 200 characters');
}

/** `?wait=` in seconds, bounded; otherwise the 400 answer. */
function parseWait(raw: unknown, max: number): number | Reply {
  if (raw === undefined) return 0;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isInteger(n) && n <= max) return n;
  return errorReply(400, 'invalid query', {
    issues: [{ path: 'wait', message: `must be whole seconds from 0 to ${max}` }],
  });
}

/**
 * A submission's `Cache-Control`: `max-age=N` (seconds) bounds the age of a cached answer it
 * accepts, `no-cache` or `no-store` (or max-age=0) refuses cached answers; absent, the
 * configured ANSWER_CACHE_MAX_AGE_SECONDS applies. Anything else gives the 400 answer.
 */
export function parseCacheControl(raw: string | undefined): number | undefined | Reply {
  if (raw === undefined || raw.trim() === '') return undefined;
  const directives = raw.split(',').map((d) => d.trim().toLowerCase());
  if (directives.some((d) => d === 'no-cache' || d === 'no-store')) return 0;
  const maxAge = directives.map((d) => /^max-age=(\d{1,9})$/.exec(d)?.[1]).find(Boolean);
  if (maxAge !== undefined) return Number(maxAge);
  return errorReply(400, 'invalid Cache-Control', {
    issues: [{ path: 'Cache-Control', message: 'must be max-age=<seconds>, no-cache or no-store' }],
  });
}
