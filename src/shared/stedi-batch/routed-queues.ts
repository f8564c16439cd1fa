/**
 * The batch route's two queues, and the enqueueing of a routed run: one delayed job per check
 * (delayed until the give-up bound: its chunk's poller promotes it as soon as Stedi answers) and
 * one job per chunk of at most `chunkSize` checks. Checks go in first, so a chunk never names a
 * check that does not exist; a check whose chunk was never added fails at its give-up bound. Ids
 * derive from the run's, so adding the same run again (a retried POST) adds nothing twice.
 */
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckJobResult } from '../check-job.js';
import type { ValueCipher } from '../crypto/data-cipher.js';
import { payerOf, type CheckRequest } from '../schemas/check-request.js';
import {
  routedIdPrefix,
  stediBatchQueueNames,
  type ChunkJobData,
  type RoutedCheckData,
} from './routed-jobs.js';

/** How a routed run is named, cut and bounded. */
export interface RoutedRunOptions {
  /** The run's id: its checks are `sb_<run id>-<i>` and its chunks `sbk_<run id>-<n>`, so adding a run again adds nothing twice. */
  readonly runId: string;
  readonly submittedBy?: string;
  /** Checks per Stedi batch request (Stedi takes up to 10,000). */
  readonly chunkSize: number;
  /** Passed to Stedi: how long it retries payer-connectivity failures, in hours (8 to 24). */
  readonly maxRetryHours: number;
  /** Time past maxRetryHours after which the poller gives up on Stedi, in ms. */
  readonly giveUpMarginMs: number;
  readonly keepCompletedSeconds: number;
  readonly keepFailedSeconds: number;
}

/** A routed check job. */
export type RoutedCheckJob = Job<RoutedCheckData, CheckJobResult>;

/** The checks queue and the chunks queue of the batch route. */
export class RoutedQueues {
  readonly checks: Queue<RoutedCheckData, CheckJobResult>;
  readonly chunks: Queue<ChunkJobData>;

  constructor(
    connection: Redis,
    prefix: string,
    private readonly cipher: ValueCipher,
  ) {
    this.checks = new Queue(stediBatchQueueNames.checks, { connection, prefix });
    this.chunks = new Queue(stediBatchQueueNames.chunks, { connection, prefix });
  }

  /** Enqueues a run routed to Stedi's Batch Eligibility API; resolves with its check jobs. */
  async addRun(
    requests: readonly CheckRequest[],
    opts: RoutedRunOptions,
  ): Promise<RoutedCheckJob[]> {
    const submittedAt = Date.now();
    const giveUpMs = opts.maxRetryHours * 3_600_000 + opts.giveUpMarginMs;
    const keep = {
      removeOnComplete: { age: opts.keepCompletedSeconds },
      removeOnFail: { age: opts.keepFailedSeconds },
    };
    const chunkIds: string[] = [];
    const checks = requests.map((request, i) => {
      const n = Math.floor(i / opts.chunkSize);
      const chunkId = (chunkIds[n] ??= `${routedIdPrefix.chunk}${opts.runId}-${n}`);
      const data: RoutedCheckData = {
        request: this.cipher.seal(request),
        priority: 'batch',
        submittedAt,
        ...(opts.submittedBy ? { submittedBy: opts.submittedBy } : {}),
        route: 'stedi-batch',
        chunkId,
      };
      return {
        name: `check:${payerOf(request)}:${opts.submittedBy ?? 'anonymous'}`,
        data,
        opts: {
          jobId: `${routedIdPrefix.check}${opts.runId}-${i}`,
          delay: giveUpMs,
          attempts: 1,
          ...keep,
        },
      };
    });
    const jobs = await this.checks.addBulk(checks);
    await this.chunks.addBulk(
      chunkIds.map((chunkId, n) => ({
        name: `chunk:${opts.submittedBy ?? 'anonymous'}`,
        data: {
          checkIds: jobs.slice(n * opts.chunkSize, (n + 1) * opts.chunkSize).map((j) => j.id ?? ''),
          maxRetryHours: opts.maxRetryHours,
          ...(opts.submittedBy ? { submittedBy: opts.submittedBy } : {}),
          submittedAt,
          giveUpAt: submittedAt + giveUpMs,
        },
        // The processor handles Stedi's errors itself; attempts cover only its own crashes.
        opts: {
          jobId: chunkId,
          attempts: 20,
          backoff: { type: 'exponential', delay: 5_000 },
          ...keep,
        },
      })),
    );
    return jobs;
  }

  async close(): Promise<void> {
    await Promise.all([this.checks.close(), this.chunks.close()]);
  }
}
