/** The producer side of the two queues: enqueue checks and look them up, by priority. */
import { randomUUID } from 'node:crypto';
import { Queue, type Job, type Telemetry } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckJobData, CheckJobResult } from './check-job.js';
import { cipherFromConfig, prioritySettings, type Config } from './config.js';
import { jobOptions, queueNames, type Priority, type PriorityJobSettings } from './queues.js';
import { payerOf, type CheckRequest } from './schemas/check-request.js';
import type { ValueCipher } from './crypto/data-cipher.js';
import { fairPriorities, fairQueueKeys, type FairQueueKeys } from './scheduling/fair-queue.js';
import { routedIdPrefix } from './stedi-batch/routed-jobs.js';
import { RoutedQueues } from './stedi-batch/routed-queues.js';

const idPrefix: Readonly<Record<Priority, string>> = { realtime: 'rt_', batch: 'bt_' };

/** A new check id; its prefix names the queue, so ids are unique across both queues. */
export function newCheckId(priority: Priority): string {
  return idPrefix[priority] + randomUUID();
}

/**
 * The ids of a batch's checks, derived from the batch's id: a batch enqueued again under the same
 * id (a client's retry) names the same checks, and BullMQ adds each at most once.
 */
export function batchCheckIds(batchId: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${batchId}-${i}`);
}

// A batch check's id: the batch's (`bt_` and a UUID), a dash, its index; `sb_` before it when
// the run was routed to Stedi's Batch Eligibility API.
const batchCheckId = /^(?:sb_)?(bt_[0-9a-f-]{36})-\d+$/;

/** The batch (run) id of a check of a batch POST; undefined for a check submitted alone. */
export function runIdOfCheck(checkId: string): string | undefined {
  return batchCheckId.exec(checkId)?.[1];
}

/** A job of either queue. */
export type CheckJob = Job<CheckJobData, CheckJobResult>;

/**
 * Gives a run's priorities to its checks payer by payer in turn (A, B, C, A, B, …), so a run
 * sorted by payer does not fill every worker's lanes with one payer's checks: the others' must be
 * fetched for a payer's cap to see them waiting.
 */
function payerRoundRobin(requests: readonly CheckRequest[], tags: number[]): number[] {
  const byPayer = new Map<string, number[]>();
  requests.forEach((r, i) => {
    const list = byPayer.get(payerOf(r));
    if (list) list.push(i);
    else byPayer.set(payerOf(r), [i]);
  });
  // Each round serves every payer that still has checks; payers that ran out drop from the list.
  let lists = [...byPayer.values()];
  const out = new Array<number>(requests.length);
  let next = 0;
  for (let round = 0; lists.length > 0; round++) {
    for (const list of lists) out[list[round] ?? 0] = tags[next++] ?? 0;
    lists = lists.filter((list) => list.length > round + 1);
  }
  return out;
}

/**
 * A check's job name carries its payer and tenant (not patient data): workers read who waits at
 * the head of the batch queue from the names alone, and Bull Board shows them.
 */
export function checkJobName(request: CheckRequest, tenant = 'anonymous'): string {
  return `check:${payerOf(request)}:${tenant}`;
}

/** The payer and tenant of a job named by checkJobName (undefined for other names). */
export function keysOfJobName(
  name: string | null | undefined,
): { payer: string; tenant: string } | undefined {
  const m = name ? /^check:([^:]+):(.*)$/.exec(name) : null;
  return m ? { payer: m[1] ?? '', tenant: m[2] ?? '' } : undefined;
}

/** Both queues, with each priority's retry and retention settings. */
export class CheckQueues {
  readonly queues: Readonly<Record<Priority, Queue<CheckJobData, CheckJobResult>>>;
  /** The queues of checks routed to Stedi's Batch Eligibility API. */
  readonly stediBatch: RoutedQueues;
  /** A tenant's share of batch capacity (weight); the producer sets it from the limits in force. */
  tenantWeight: (tenant: string) => number = () => 1;
  private readonly fairKeys: FairQueueKeys;

  constructor(
    private readonly connection: Redis,
    prefix: string,
    private readonly settings: Readonly<Record<Priority, PriorityJobSettings>>,
    /** Seals each request before it reaches Redis. */
    readonly cipher: ValueCipher,
    /** BullMQ telemetry when tracing is on: each check carries its trace to the worker. */
    telemetry?: Telemetry,
  ) {
    const opts = { connection, prefix, ...(telemetry ? { telemetry } : {}) };
    this.queues = {
      realtime: new Queue(queueNames.realtime, opts),
      batch: new Queue(queueNames.batch, opts),
    };
    this.stediBatch = new RoutedQueues(connection, prefix, cipher);
    this.fairKeys = fairQueueKeys(prefix);
  }

  /** The queues runs' checks are in (see RunStore). */
  runQueues(): { batch: Queue; routed: Queue } {
    return { batch: this.queues.batch, routed: this.stediBatch.checks };
  }

  /** Every queue: both priorities and the batch route's two (for the board and pausing). */
  allQueues(): Queue[] {
    return [...Object.values(this.queues), this.stediBatch.checks, this.stediBatch.chunks];
  }

  /** Both queues as the configuration sets them; the cipher defaults to the configured keys. */
  static fromConfig(
    connection: Redis,
    config: Config,
    cipher: ValueCipher = cipherFromConfig(config),
    telemetry?: Telemetry,
  ): CheckQueues {
    return new CheckQueues(
      connection,
      config.QUEUE_PREFIX,
      prioritySettings(config),
      cipher,
      telemetry,
    );
  }

  /** Enqueues one check; `jobId` makes the add idempotent. */
  async add(
    priority: Priority,
    request: CheckRequest,
    extra: { jobId?: string; submittedBy?: string; cacheMaxAgeSeconds?: number } = {},
  ): Promise<CheckJob> {
    const data = this.jobData(
      priority,
      request,
      Date.now(),
      extra.submittedBy,
      extra.cacheMaxAgeSeconds,
    );
    const [fair] = priority === 'batch' ? await this.batchPriorities(extra.submittedBy, 1) : [];
    return this.queues[priority].add(checkJobName(request, extra.submittedBy), data, {
      ...jobOptions(this.settings[priority]),
      jobId: extra.jobId ?? newCheckId(priority),
      ...(fair !== undefined ? { priority: fair } : {}),
    });
  }

  /** Enqueues many checks of one priority in one round trip; `jobIds` make it idempotent. */
  async addBulk(
    priority: Priority,
    requests: readonly CheckRequest[],
    submittedBy?: string,
    jobIds?: readonly string[],
    /** Oldest cached answer the checks accept (seconds; 0: none); absent: the configured age. */
    cacheMaxAgeSeconds?: number,
  ): Promise<CheckJob[]> {
    const submittedAt = Date.now();
    const opts = jobOptions(this.settings[priority]);
    const fair =
      priority === 'batch'
        ? payerRoundRobin(requests, await this.batchPriorities(submittedBy, requests.length))
        : [];
    return this.queues[priority].addBulk(
      requests.map((request, i) => ({
        name: checkJobName(request, submittedBy),
        data: this.jobData(priority, request, submittedAt, submittedBy, cacheMaxAgeSeconds),
        opts: {
          ...opts,
          jobId: jobIds?.[i] ?? newCheckId(priority),
          ...(fair[i] !== undefined ? { priority: fair[i] } : {}),
        },
      })),
    );
  }

  /** Fair-queue priorities of `count` batch checks of one tenant (each API key is a tenant). */
  private batchPriorities(tenant: string | undefined, count: number): Promise<number[]> {
    const name = tenant ?? 'anonymous';
    return fairPriorities(this.connection, this.fairKeys, name, count, this.tenantWeight(name));
  }

  /** Finds a check by id (the id's prefix names its queue). */
  async get(id: string): Promise<CheckJob | undefined> {
    if (id.startsWith(routedIdPrefix.check))
      return (await this.stediBatch.checks.getJob(id)) ?? undefined;
    const priority = (Object.keys(idPrefix) as Priority[]).find((p) => id.startsWith(idPrefix[p]));
    if (!priority) return undefined;
    return (await this.queues[priority].getJob(id)) ?? undefined;
  }

  private jobData(
    priority: Priority,
    request: CheckRequest,
    submittedAt: number,
    submittedBy: string | undefined,
    cacheMaxAgeSeconds?: number,
  ): CheckJobData {
    return {
      request: this.cipher.seal(request),
      priority,
      submittedAt,
      ...(submittedBy ? { submittedBy } : {}),
      ...(cacheMaxAgeSeconds !== undefined ? { cacheMaxAgeSeconds } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.all([
      ...Object.values(this.queues).map((q) => q.close()),
      this.stediBatch.close(),
    ]);
  }
}
