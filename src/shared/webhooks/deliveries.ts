/**
 * Webhook deliveries: one BullMQ job per endpoint and event (job id from both, so an event relayed
 * twice is delivered once), retried with exponential backoff over hours. Each attempt's outcome is
 * recorded beside the job and each endpoint keeps an index of its latest deliveries, for the API.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Sealed } from '../crypto/data-cipher.js';
import type { WebhookEventType } from './endpoint-store.js';

/** The deliveries queue's name. */
export const WEBHOOK_QUEUE = 'webhook-deliveries';

/** Deliveries each endpoint's index keeps. */
const INDEX_SIZE = 200;

/** A delivery job's data: the message is sealed (it may carry the full answer). */
export interface DeliveryJobData {
  readonly endpointId: string;
  /** `webhook-id`: the same on every attempt, so receivers can drop duplicates. */
  readonly messageId: string;
  readonly type: WebhookEventType;
  /** The JSON body, sealed. */
  readonly body: Sealed;
}

/** The outcome of a delivery's last attempt. */
export interface DeliveryAttempt {
  readonly at: number;
  /** The receiver's HTTP status, when it answered. */
  readonly status?: number;
  /** Why the attempt failed, when it did (never the receiver's body). */
  readonly error?: string;
}

/** The deliveries queue and its records. */
export class WebhookDeliveries {
  readonly queue: Queue<DeliveryJobData>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly settings: { attempts: number; backoffMs: number; keepSeconds: number },
  ) {
    this.queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix });
  }

  /** The job id of one endpoint's delivery of one message. */
  static jobId(endpointId: string, messageId: string): string {
    return `${endpointId}-${messageId}`;
  }

  /** Queues a delivery (at most once per endpoint and message) and indexes it. */
  async add(data: DeliveryJobData, now = Date.now()): Promise<void> {
    const jobId = WebhookDeliveries.jobId(data.endpointId, data.messageId);
    await this.queue.add(data.type, data, {
      jobId,
      attempts: this.settings.attempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs, jitter: 0.2 },
      removeOnComplete: { age: this.settings.keepSeconds },
      removeOnFail: { age: this.settings.keepSeconds },
    });
    const index = this.indexKey(data.endpointId);
    await this.redis
      .multi()
      .zadd(index, 'NX', now, jobId)
      .zremrangebyrank(index, 0, -INDEX_SIZE - 1)
      .expire(index, this.settings.keepSeconds)
      .exec();
  }

  /** Records an attempt's outcome. */
  async recordAttempt(jobId: string, attempt: DeliveryAttempt): Promise<void> {
    const key = this.attemptKey(jobId);
    await this.redis
      .multi()
      .hset(key, {
        at: attempt.at,
        status: attempt.status ?? '',
        error: attempt.error ?? '',
      })
      .expire(key, this.settings.keepSeconds)
      .exec();
  }

  /** The latest deliveries of an endpoint, newest first, with their state and last attempt. */
  async list(endpointId: string, limit: number) {
    const ids = await this.redis.zrevrange(this.indexKey(endpointId), 0, limit - 1);
    return Promise.all(
      ids.map(async (id) => {
        const [job, attempt] = await Promise.all([
          this.queue.getJob(id),
          this.redis.hgetall(this.attemptKey(id)),
        ]);
        const state = job ? await job.getState() : 'expired';
        return {
          id,
          messageId: job?.data.messageId ?? id.slice(endpointId.length + 1),
          type: job?.data.type,
          status:
            state === 'completed'
              ? ('succeeded' as const)
              : state === 'failed'
                ? ('failed' as const)
                : state === 'expired'
                  ? ('expired' as const)
                  : ('pending' as const),
          attempts: job ? job.attemptsMade + (state === 'active' ? 1 : 0) : 0,
          createdAt: job ? new Date(job.timestamp).toISOString() : undefined,
          ...(attempt.at ? { lastAttemptAt: new Date(Number(attempt.at)).toISOString() } : {}),
          ...(attempt.status ? { lastStatusCode: Number(attempt.status) } : {}),
          ...(attempt.error ? { lastError: attempt.error } : {}),
        };
      }),
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  private indexKey(endpointId: string): string {
    return `${this.prefix}:webhook:endpoint:${endpointId}:deliveries`;
  }

  private attemptKey(jobId: string): string {
    return `${this.prefix}:webhook:attempt:${jobId}`;
  }
}
