/** The producer side of the two queues: enqueue checks and look them up, by priority. */
import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckJobData, CheckJobResult } from './check-job.js';
import { cipherFromConfig, prioritySettings, type Config } from './config.js';
import { jobOptions, queueNames, type Priority, type PriorityJobSettings } from './queues.js';
import type { EligibilityRequest } from './schemas/eligibility-request.js';
import type { ValueCipher } from './crypto/data-cipher.js';

const idPrefix: Readonly<Record<Priority, string>> = { realtime: 'rt_', batch: 'bt_' };

/** A new check id; its prefix names the queue, so ids are unique across both queues. */
export function newCheckId(priority: Priority): string {
  return idPrefix[priority] + randomUUID();
}

/** A job of either queue. */
export type CheckJob = Job<CheckJobData, CheckJobResult>;

/** Both queues, with each priority's retry and retention settings. */
export class CheckQueues {
  readonly queues: Readonly<Record<Priority, Queue<CheckJobData, CheckJobResult>>>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly settings: Readonly<Record<Priority, PriorityJobSettings>>,
    /** Seals each request before it reaches Redis. */
    readonly cipher: ValueCipher,
  ) {
    this.queues = {
      realtime: new Queue(queueNames.realtime, { connection, prefix }),
      batch: new Queue(queueNames.batch, { connection, prefix }),
    };
  }

  /** Both queues as the configuration sets them; the cipher defaults to the configured keys. */
  static fromConfig(
    connection: Redis,
    config: Config,
    cipher: ValueCipher = cipherFromConfig(config),
  ): CheckQueues {
    return new CheckQueues(connection, config.QUEUE_PREFIX, prioritySettings(config), cipher);
  }

  /** Enqueues one check; `jobId` makes the add idempotent. */
  async add(
    priority: Priority,
    request: EligibilityRequest,
    extra: { jobId?: string; submittedBy?: string } = {},
  ): Promise<CheckJob> {
    const data = this.jobData(priority, request, Date.now(), extra.submittedBy);
    return this.queues[priority].add('check', data, {
      ...jobOptions(this.settings[priority]),
      jobId: extra.jobId ?? newCheckId(priority),
    });
  }

  /** Enqueues many checks of one priority in one round trip. */
  async addBulk(
    priority: Priority,
    requests: readonly EligibilityRequest[],
    submittedBy?: string,
  ): Promise<CheckJob[]> {
    const submittedAt = Date.now();
    const opts = jobOptions(this.settings[priority]);
    return this.queues[priority].addBulk(
      requests.map((request) => ({
        name: 'check',
        data: this.jobData(priority, request, submittedAt, submittedBy),
        opts: { ...opts, jobId: newCheckId(priority) },
      })),
    );
  }

  /** Finds a check by id (the id's prefix names its queue). */
  async get(id: string): Promise<CheckJob | undefined> {
    const priority = (Object.keys(idPrefix) as Priority[]).find((p) => id.startsWith(idPrefix[p]));
    if (!priority) return undefined;
    return (await this.queues[priority].getJob(id)) ?? undefined;
  }

  private jobData(
    priority: Priority,
    request: EligibilityRequest,
    submittedAt: number,
    submittedBy: string | undefined,
  ): CheckJobData {
    return {
      request: this.cipher.seal(request),
      priority,
      submittedAt,
      ...(submittedBy ? { submittedBy } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
  }
}
