import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { blockingDuplicate } from '../shared/clients/redis.js';
import type { Logger } from '../shared/logger.js';
import { queueNames, type Priority } from '../shared/queues.js';

/**
 * A QueueEvents reader per priority, connected on first use. A reader decodes the events of every
 * check in its queue, which costs the producer CPU at high submit rates; only `?wait=` needs it,
 * so producers whose clients never wait never pay for it. Waiting stays exact from the first use:
 * BullMQ's waitUntilFinished waits for the reader to listen, then checks the job's state itself.
 */
export class OnDemandQueueEvents {
  private readonly open = new Map<Priority, QueueEvents>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  /** The reader for `priority`, connecting it if this is the first wait on that queue. */
  get(priority: Priority): QueueEvents {
    let events = this.open.get(priority);
    if (!events) {
      events = new QueueEvents(queueNames[priority], {
        // A blocking reader: without the request paths' command timeout.
        connection: blockingDuplicate(this.redis),
        prefix: this.prefix,
      });
      events.on('error', (err) => this.logger.error({ err: err.message }, 'queue events error'));
      this.open.set(priority, events);
    }
    return events;
  }

  /** Closes the readers that were opened. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((e) => e.close()));
  }
}
