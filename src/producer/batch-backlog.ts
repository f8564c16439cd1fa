import type { Queue } from 'bullmq';

/**
 * The batch backlog as admission sees it: counted in Redis at most every `refreshMs`, plus the
 * checks this producer enqueued since. For one producer it is exact; other producers' adds show
 * within `refreshMs`. Checks finished since the count only show at the next count, so between
 * counts the figure errs high (refusing a little early), never low. This keeps three Redis reads
 * off every batch POST.
 */
export class BatchBacklog {
  private counted: { readonly count: number; readonly at: number } | undefined;
  private addedSinceCount = 0;
  private counting: Promise<void> | undefined;

  constructor(
    private readonly queue: Pick<Queue, 'getJobCounts'>,
    private readonly refreshMs = 250,
    private readonly now: () => number = Date.now,
  ) {}

  /** Waiting, prioritized and delayed batch checks. */
  async size(): Promise<number> {
    if (!this.counted || this.now() - this.counted.at >= this.refreshMs) await this.recount();
    return (this.counted?.count ?? 0) + this.addedSinceCount;
  }

  /** Records checks this producer has just enqueued. */
  added(count: number): void {
    this.addedSinceCount += count;
  }

  private recount(): Promise<void> {
    this.counting ??= (async () => {
      // Adds that land while the count is in flight may be counted twice: high, never low.
      const before = this.addedSinceCount;
      try {
        const c = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed');
        this.counted = {
          count: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0),
          at: this.now(),
        };
        this.addedSinceCount -= before;
      } finally {
        this.counting = undefined;
      }
    })();
    return this.counting;
  }
}
