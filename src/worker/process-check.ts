/**
 * One eligibility check: take a semaphore slot of the check's pool (recording the call start in
 * the same write), call Stedi, give the slot back, then turn Stedi's answer into the job's fate.
 * Waiting for a slot, a 429, a shutdown or a store outage never uses up an attempt.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { CheckJobData, CheckJobResult } from '../shared/check-job.js';
import { AcquireAbortedError } from '../shared/errors/acquire-aborted-error.js';
import { LeaseLostError } from '../shared/errors/lease-lost-error.js';
import { SemaphoreStoreError } from '../shared/errors/semaphore-store-error.js';
import type { Logger } from '../shared/logger.js';
import type { Priority } from '../shared/queues.js';
import { eligibilityRequestSchema } from '../shared/schemas/eligibility-request.js';
import type { Semaphore, SlotLease } from '../shared/semaphore/index.js';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { WorkerMetrics } from './metrics.js';
import { classifyReply, type CallOutcome } from './stedi/classify-reply.js';
import type { StediClient } from './stedi/stedi-client.js';
import { StediTransportError } from './stedi/stedi-transport-error.js';
import { RetryableCheckError } from './retryable-check-error.js';

/** What processing a check needs. */
export interface CheckProcessorDeps {
  readonly semaphore: Semaphore;
  readonly stedi: StediClient;
  readonly breaker: CircuitBreaker;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  /** Aborts slot waits when the worker shuts down. */
  readonly shutdown: AbortSignal;
  /** Delay before a 429'd check is tried again, in ms. */
  readonly throttleRetryMs: number;
  readonly now?: () => number;
  /** Opens job requests and seals results (patient data stays encrypted in Redis). */
  readonly cipher: ValueCipher;
}

/** Builds the BullMQ processor of `priority`'s queue. */
export function checkProcessor(priority: Priority, deps: CheckProcessorDeps) {
  const now = deps.now ?? Date.now;
  return async (
    job: Job<CheckJobData, CheckJobResult>,
    token?: string,
  ): Promise<CheckJobResult> => {
    const log = deps.logger.child({ jobId: job.id, priority, attempt: job.attemptsMade + 1 });
    let request: unknown;
    try {
      request = deps.cipher.open(job.data.request);
    } catch (err) {
      // A worker without the key that sealed this check: another worker (or a fixed config) can.
      log.error(
        { reason: (err as Error).message },
        'cannot decrypt check; is DATA_ENCRYPTION_KEYS the same on every process?',
      );
      throw new RetryableCheckError(`cannot decrypt the check: ${(err as Error).message}`);
    }
    const parsed = eligibilityRequestSchema.safeParse(request);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new UnrecoverableError(`invalid eligibility request in job data (fields: ${fields})`);
    }
    if (priority === 'batch' && deps.breaker.state === 'open') {
      await job.moveToDelayed(now() + deps.breaker.remainingMs(), token);
      throw new DelayedError();
    }

    const lease = await takeSlot(job, token, priority, deps, log);
    const callStartedAt = now();
    let outcome: CallOutcome;
    try {
      outcome = await callStedi(deps.stedi, parsed.data);
    } finally {
      await lease.release();
      deps.metrics.slotsHeld.dec({ pool: priority });
    }
    const callMs = now() - callStartedAt;
    deps.metrics.callSeconds.observe({ pool: priority }, callMs / 1000);
    deps.metrics.calls.inc({ outcome: outcome.kind, pool: priority });

    switch (outcome.kind) {
      case 'answer':
        deps.breaker.success();
        log.info({ callMs, aaaCodes: outcome.aaaCodes }, 'check answered');
        return {
          response: deps.cipher.seal(outcome.body),
          aaaCodes: outcome.aaaCodes,
          callStartedAt,
          callMs,
        };
      case 'throttled': {
        deps.metrics.throttled.inc();
        log.warn(
          'Stedi answered 429: STEDI_CONCURRENCY is above the real allocation; check goes back to wait',
        );
        const base = outcome.retryAfterMs ?? deps.throttleRetryMs;
        await job.moveToDelayed(now() + base * (0.5 + Math.random()), token);
        throw new DelayedError();
      }
      case 'retryable':
        deps.breaker.failure();
        log.warn({ reason: outcome.reason, callMs }, 'check will be retried');
        throw new RetryableCheckError(outcome.reason);
      case 'rejected':
        if (outcome.alert) log.error({ reason: outcome.reason }, 'Stedi refused our credentials');
        else log.warn({ reason: outcome.reason }, 'check rejected by Stedi');
        throw new UnrecoverableError(outcome.reason);
    }
  };
}

async function takeSlot(
  job: Job<CheckJobData, CheckJobResult>,
  token: string | undefined,
  pool: Priority,
  deps: CheckProcessorDeps,
  log: Logger,
): Promise<SlotLease> {
  let lease: SlotLease;
  try {
    lease = await deps.semaphore.acquire({ pool, signal: deps.shutdown, markCallStart: true });
  } catch (err) {
    if (err instanceof AcquireAbortedError) {
      // Shutting down before the call: the check goes back to wait for another worker.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    if (err instanceof SemaphoreStoreError) {
      // Fail closed, but do not spend an attempt on our own outage.
      log.error({ err: err.message }, 'semaphore store unavailable; check delayed');
      await job.moveToDelayed(Date.now() + 1_000 + Math.random() * 1_000, token);
      throw new DelayedError();
    }
    if (err instanceof LeaseLostError) {
      // The slot handed to us could not record the call start: try again shortly.
      await job.moveToDelayed(Date.now() + 500, token);
      throw new DelayedError();
    }
    throw err;
  }
  // The acquire recorded the call start (with the claim, or on hand-over): the call may begin.
  deps.metrics.slotsHeld.inc({ pool });
  return lease;
}

async function callStedi(
  stedi: StediClient,
  request: Parameters<StediClient['check']>[0],
): Promise<CallOutcome> {
  try {
    return classifyReply(await stedi.check(request));
  } catch (err) {
    if (err instanceof StediTransportError) return { kind: 'retryable', reason: err.message };
    throw err;
  }
}
