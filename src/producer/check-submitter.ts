/**
 * Submitting checks, independent of the HTTP layer: admission (operator mode, batch backlog),
 * validation, idempotency, the enqueue and the optional wait for the answer. The Express routes
 * and the submit fast lane both answer through it, so they cannot drift apart.
 */
import type { CheckQueues } from '../shared/check-queues.js';
import { newCheckId } from '../shared/check-queues.js';
import type { Priority } from '../shared/queues.js';
import type { EligibilityEndpoint } from '../shared/stedi-api.js';
import { submitBatchSchema, submitCheckSchema } from './api-schemas.js';
import type { ApiKey } from './auth/api-keys.js';
import { BatchBacklog } from './batch-backlog.js';
import { apiStatus, checkPath, checkView } from './check-view.js';
import type { IdempotencyStore } from './idempotency.js';
import type { ModeStore } from './operating-mode.js';
import type { OnDemandQueueEvents } from './on-demand-queue-events.js';
import { errorReply, type Reply } from './reply.js';
import { conversionIssues, toIssues } from './validation.js';

/** What submitting needs. */
export interface CheckSubmitterDeps {
  readonly queues: CheckQueues;
  readonly events: Pick<OnDemandQueueEvents, 'get'>;
  readonly idempotency: IdempotencyStore;
  readonly mode: ModeStore;
  readonly batchBacklogLimit: number;
  readonly batchMaxItems: number;
  readonly maxWaitSeconds: number;
  /** Stedi's real-time endpoint the workers call: requests it cannot take are refused here. */
  readonly endpoint: EligibilityEndpoint;
}

/** One POST /v1/eligibility, already authenticated and parsed from JSON. */
export interface SubmitOne {
  readonly key: ApiKey;
  readonly body: unknown;
  /** The raw `wait` query value: absent, a string, or repeated (an array). */
  readonly wait: unknown;
  readonly idempotencyKey: string | undefined;
}

/** Admits, validates, enqueues and (optionally) waits; every outcome is a Reply. */
export class CheckSubmitter {
  private readonly backlog: BatchBacklog;

  constructor(private readonly deps: CheckSubmitterDeps) {
    this.backlog = new BatchBacklog(deps.queues.queues.batch);
  }

  /** Handles one single-check submission. */
  async submitOne(input: SubmitOne): Promise<Reply> {
    const { deps } = this;
    const parsed = submitCheckSchema.safeParse(input.body);
    if (!parsed.success)
      return errorReply(400, 'invalid eligibility check', { issues: toIssues(parsed.error) });
    const wait = parseWait(input.wait, deps.maxWaitSeconds);
    if (typeof wait !== 'number') return wait;
    const { priority, request } = parsed.data;
    const unmappable = conversionIssues(request, deps.endpoint, 'request');
    if (unmappable.length > 0)
      return errorReply(400, `invalid eligibility check for Stedi's ${deps.endpoint} endpoint`, {
        issues: unmappable,
      });
    const refused = await this.admit(priority, 1);
    if (refused) return refused;
    const idemKey = input.idempotencyKey;
    let checkId = newCheckId(priority);
    let reused = false;
    if (idemKey !== undefined) {
      if (idemKey.length < 1 || idemKey.length > 200)
        return errorReply(400, 'Idempotency-Key must have 1 to 200 characters');
      const r = await deps.idempotency.reserve(input.key.name, idemKey, parsed.data, checkId);
      if (r.kind === 'conflict')
        return errorReply(409, 'Idempotency-Key was already used with a different body');
      if (r.kind === 'existing') {
        checkId = r.checkId;
        reused = true;
      }
    }
    const location = { Location: checkPath(checkId) };
    let job = reused ? await deps.queues.get(checkId) : undefined;
    if (!job) {
      try {
        job = await deps.queues.add(priority, request, {
          jobId: checkId,
          submittedBy: input.key.name,
        });
        if (priority === 'batch') this.backlog.added(1);
      } catch (err) {
        if (idemKey !== undefined) await deps.idempotency.forget(input.key.name, idemKey);
        throw err;
      }
      if (wait === 0)
        return {
          status: 202,
          headers: location,
          body: checkView(job, 'waiting', deps.queues.cipher),
        };
    }
    if (wait > 0) {
      try {
        await job.waitUntilFinished(deps.events.get(priority), wait * 1000);
      } catch {
        // Failed, or still running at the deadline: either way the state below tells.
      }
      // Re-read only after a wait: without one, the job read above is current.
      job = (await deps.queues.get(checkId)) ?? job;
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
  async submitBatch(key: ApiKey, body: unknown): Promise<Reply> {
    const refusedAs = 'invalid batch: nothing was enqueued';
    const parsed = submitBatchSchema.safeParse(body);
    if (!parsed.success) return errorReply(400, refusedAs, { issues: toIssues(parsed.error) });
    const { items } = parsed.data;
    const max = this.deps.batchMaxItems;
    if (items.length > max)
      return errorReply(400, refusedAs, {
        issues: [
          { path: 'items', message: `must hold at most ${max} requests (got ${items.length})` },
        ],
      });
    const unmappable = items.flatMap((item, i) =>
      conversionIssues(item, this.deps.endpoint, `items.${i}`),
    );
    if (unmappable.length > 0) return errorReply(400, refusedAs, { issues: unmappable });
    const refused = await this.admit('batch', items.length);
    if (refused) return refused;
    const jobs = await this.deps.queues.addBulk('batch', items, key.name);
    this.backlog.added(jobs.length);
    return {
      status: 202,
      body: {
        count: jobs.length,
        checks: jobs.map((j) => ({
          id: j.id,
          status: 'waiting',
          links: { self: checkPath(j.id ?? '') },
        })),
      },
    };
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

/** `?wait=` in seconds, bounded; otherwise the 400 answer. */
function parseWait(raw: unknown, max: number): number | Reply {
  if (raw === undefined) return 0;
  const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (Number.isInteger(n) && n <= max) return n;
  return errorReply(400, 'invalid query', {
    issues: [{ path: 'wait', message: `must be whole seconds from 0 to ${max}` }],
  });
}
