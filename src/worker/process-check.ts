/**
 * One eligibility check: take a semaphore slot of the check's pool (recording the call start in
 * the same write) once its payer and tenant may start, call Stedi, give the slot back, tell the
 * scheduler what the answer says about the payer, then turn the answer into the job's fate.
 * Waiting for a slot, a capped or paused payer, a 429, a shutdown or a store outage never uses up
 * an attempt: a check that cannot start soon is parked (delayed), so it never holds up the checks
 * of other payers behind it.
 */
import { SpanKind, type Tracer } from '@opentelemetry/api';
import { DelayedError, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { CheckJobData, CheckJobResult } from '../shared/check-job.js';
import { AcquireAbortedError } from '../shared/errors/acquire-aborted-error.js';
import { CallCoverLapsedError } from '../shared/errors/call-cover-lapsed-error.js';
import { LeaseLostError } from '../shared/errors/lease-lost-error.js';
import { SemaphoreStoreError } from '../shared/errors/semaphore-store-error.js';
import type { Logger } from '../shared/logger.js';
import type { Priority } from '../shared/queues.js';
import {
  checkRequestSchema,
  npiOf,
  payerOf,
  requestedServiceTypes,
} from '../shared/schemas/check-request.js';
import { convertRequest } from '../shared/schemas/request-conversion.js';
import type { Semaphore, SlotLease } from '../shared/semaphore/index.js';
import type { ValueCipher } from '../shared/crypto/data-cipher.js';
import type { SlotNote } from '../shared/status/slot-notes.js';
import { describeCheck, inCheckSpan, outcomeAttributes } from './check-spans.js';
import type { WorkerMetrics } from './metrics.js';
import type {
  CheckAdmission,
  CheckKeys,
  HeldBack,
  KeyScheduler,
} from './scheduling/key-scheduler.js';
import type { PayerSignal } from './scheduling/payer-health.js';
import { classifyReply, type CallOutcome } from './stedi/classify-reply.js';
import type { StediClient } from './stedi/stedi-client.js';
import { StediTransportError } from './stedi/stedi-transport-error.js';
import { RetryableCheckError } from './retryable-check-error.js';
import { SameJobRuns } from './same-job-runs.js';
import { sealedSummary } from './summary/sealed-summary.js';

/** What processing a check needs. */
export interface CheckProcessorDeps {
  readonly semaphore: Semaphore;
  readonly stedi: StediClient;
  readonly scheduler: KeyScheduler;
  /** What a realtime check to a payer whose breaker is open gets. */
  readonly payerOpenRealtime: 'fail' | 'call';
  /** An answer slower than this (ms) counts against its payer's earned concurrency. */
  readonly slowCallMs: number;
  /** A batch check its payer holds back this long (ms) is parked. @defaultValue 250 */
  readonly parkAfterMs?: number;
  /** Told of each call as it starts (who calls on which slot, for the status page). */
  readonly onCallStart?: (call: SlotNote) => void;
  /** Reports each call's duration (the lending policy's mean call time). */
  readonly onCallTime?: (ms: number) => void;
  /** Longest a batch check waits (since submission) for its payer's breaker to close, in ms. */
  readonly outageMaxWaitMs: number;
  /** Counts one more park of a batch check and returns how many it has had. */
  readonly countPark?: (jobId: string) => Promise<number>;
  /** A fair-queue priority at the back of `tenant`'s order, for a parked check. */
  readonly requeuePriority?: (tenant: string) => Promise<number>;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  /** Aborts slot waits when the worker shuts down. */
  readonly shutdown: AbortSignal;
  /**
   * Whether this run still has its check (its BullMQ job lock, taken back if it merely expired),
   * asked right before the call: a run that lost its check to another one must not call.
   */
  readonly holdsJob: (pool: Priority, jobId: string, token: string) => Promise<boolean>;
  /** Delay before a 429'd check is tried again, in ms. */
  readonly throttleRetryMs: number;
  readonly now?: () => number;
  /** Opens job requests and seals results (patient data stays encrypted in Redis). */
  readonly cipher: ValueCipher;
  /** Traces the slot wait and the Stedi call when tracing is on. */
  readonly tracer?: Tracer;
}

/** Builds the BullMQ processor of `priority`'s queue. */
export function checkProcessor(priority: Priority, deps: CheckProcessorDeps) {
  const runs = new SameJobRuns();
  const processOnce = checkRun(priority, deps);
  return (job: Job<CheckJobData, CheckJobResult>, token?: string): Promise<CheckJobResult> =>
    runs.run(job.id, () => processOnce(job, token));
}

/** One run of a check (see checkProcessor). */
function checkRun(priority: Priority, deps: CheckProcessorDeps) {
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
    const parsed = checkRequestSchema.safeParse(request);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
      throw new UnrecoverableError(`invalid eligibility request in job data (fields: ${fields})`);
    }
    // The producer refuses what the configured endpoint cannot take; a check enqueued before the
    // endpoint was switched may still meet one here.
    const body = convertRequest(parsed.data, deps.stedi.endpoint);
    if (!body.ok) {
      const fields = body.issues.map((i) => i.path.join('.')).join(', ');
      throw new UnrecoverableError(
        `the check cannot be sent to Stedi's ${deps.stedi.endpoint} endpoint (fields: ${fields})`,
      );
    }
    const keys: CheckKeys = {
      payer: payerOf(parsed.data),
      tenant: job.data.submittedBy ?? 'anonymous',
      npi: npiOf(parsed.data),
      pool: priority,
    };
    describeCheck(deps.tracer, {
      'eq.check.id': job.id ?? '',
      'eq.pool': priority,
      'eq.payer': keys.payer,
      'eq.tenant': keys.tenant,
      'eq.attempt': job.attemptsMade + 1,
    });
    if (priority === 'realtime') deps.scheduler.noteRealtimeArrival();
    const breaker =
      priority === 'realtime'
        ? await deps.scheduler
            .breakerNow(keys.payer)
            .catch(() => deps.scheduler.breaker(keys.payer))
        : deps.scheduler.breaker(keys.payer);
    if (breaker.state === 'open') {
      if (priority === 'batch') {
        // Wait out the cool-down without spending an attempt; one probe goes first after it.
        await park(job, token, deps, 'breaker-open', keys, breaker.remainingMs);
      }
      if (deps.payerOpenRealtime === 'fail') {
        deps.metrics.parked.inc({ reason: 'payer-unavailable' });
        throw new UnrecoverableError(
          `payer unavailable: payer ${keys.payer} failed repeatedly (AAA 42/80, 5xx or timeouts); ` +
            `its checks resume in about ${Math.ceil(breaker.remainingMs / 1000)} s`,
        );
      }
    }

    const admission = deps.scheduler.admission(keys);
    try {
      const lease = await inCheckSpan(
        deps.tracer,
        'slot wait',
        SpanKind.INTERNAL,
        { 'eq.pool': priority },
        async (span) => {
          const taken = await takeAdmittedSlot({
            job,
            token,
            pool: priority,
            deps,
            log,
            admission,
          });
          span?.setAttributes({ 'eq.slot': taken.slot, 'eq.slot.handed_over': taken.handedOver });
          return taken;
        },
      );
      // No answer: the check tries again without spending an attempt when no call happened (a
      // probe is freed either way).
      const withoutCall = async (err: unknown): Promise<never> => {
        await admission.finished(undefined);
        if (err instanceof AcquireAbortedError) {
          // The semaphore closed (shutdown) before the call: another worker takes the check.
          return await backToWait(job, token);
        }
        if (!isNoCall(err)) throw err;
        return await delayUntil(job, token, Date.now() + 500 + Math.random() * 1_000);
      };
      try {
        // The token take waited on Redis: make sure the slot is still ours (and its call start
        // covered) right before the call, or another worker may already have reclaimed it.
        await lease.markCallStart();
      } catch (err) {
        await giveBack(lease, priority, deps);
        return await withoutCall(err);
      }
      const callStartedAt = now();
      deps.onCallStart?.({
        slot: lease.slot,
        owner: lease.owner,
        pool: priority,
        payer: keys.payer,
        tenant: keys.tenant,
        checkId: job.id ?? '',
        callStartedAt,
      });
      // The first attempt's wait is what a caller sees (retries wait by design).
      if (job.attemptsMade === 0)
        deps.metrics.checkWaitSeconds.observe(
          { pool: priority },
          Math.max(0, callStartedAt - job.timestamp) / 1000,
        );
      let outcome: CallOutcome | undefined;
      let failure: unknown;
      try {
        outcome = await inCheckSpan(
          deps.tracer,
          'stedi call',
          SpanKind.CLIENT,
          { 'eq.slot': lease.slot, 'eq.stedi.endpoint': deps.stedi.endpoint },
          async (span) => {
            const answer = await callCovered(lease, deps.stedi, body.body);
            span?.setAttributes(outcomeAttributes(answer));
            return answer;
          },
        );
      } catch (err) {
        failure = err;
      } finally {
        // Tokens go first: the slot may be handed to a local waiter at once, and its token take
        // runs on the same Redis connection, so Redis sees this check's tokens gone before it.
        void admission.release();
        // Sent with no answer (a reset), or failed in a way that does not say whether it was
        // sent: the call may still run at Stedi, on this slot, until its bound.
        const mayStillRun =
          outcome === undefined
            ? !isNoCall(failure)
            : outcome.kind === 'retryable' && outcome.mayStillRun === true;
        if (mayStillRun) lease.keepForCall();
        else await lease.release();
        deps.metrics.slotsHeld.dec({ pool: priority });
      }
      // No answer: the check waits again, or (an unexpected error) fails its attempt.
      if (outcome === undefined) return await withoutCall(failure);
      const callMs = now() - callStartedAt;
      deps.onCallTime?.(callMs);
      deps.metrics.callSeconds.observe({ pool: priority, outcome: outcome.kind }, callMs / 1000);
      deps.metrics.calls.inc({ outcome: outcome.kind, pool: priority });
      await admission.finished(payerSignal(outcome, callMs, deps.slowCallMs));
      const serviceTypes = requestedServiceTypes(parsed.data);
      return await settle(job, token, outcome, { callStartedAt, callMs, serviceTypes }, deps, log);
    } finally {
      void admission.release();
    }
  };
}

/** One check on its way to a slot: what the slot-taking steps share. */
interface CheckRun {
  readonly job: Job<CheckJobData, CheckJobResult>;
  readonly token: string | undefined;
  readonly pool: Priority;
  readonly deps: CheckProcessorDeps;
  readonly log: Logger;
  readonly admission: CheckAdmission;
}

/**
 * A slot, once the check's tokens are taken too. The cached counts that let the semaphore pick
 * this check may be behind other workers: when the atomic take refuses, the slot goes back (to the
 * next local waiter) and the check waits again on fresh counts, parked if that lasts.
 */
async function takeAdmittedSlot(run: CheckRun): Promise<SlotLease> {
  const { job, token, pool, deps, log, admission } = run;
  for (;;) {
    const lease = await takeSlot(run);
    // The job lock is confirmed (and extended) alongside the token take, concurrently with it:
    // a check whose lock another run has belongs to that run now. This one got here by losing
    // its lock (an event-loop stall past it, or a process taken for dead) and must not call.
    const [took, kept] = await Promise.allSettled([
      admission.started(),
      token === undefined || job.id === undefined ? true : deps.holdsJob(pool, job.id, token),
    ]);
    const taken = took.status === 'fulfilled' && took.value;
    const failure = [took, kept].find((r) => r.status === 'rejected');
    if (failure || (kept.status === 'fulfilled' && !kept.value)) {
      if (taken) await admission.finished(undefined);
      await giveBack(lease, pool, deps);
      if (!failure) {
        log.warn('job lock lost before the call: the check is left to the worker that has it');
        // Not ours to move: BullMQ does nothing more with it here and fetches the next job.
        throw new WaitingError();
      }
      log.error({ err: String(failure.reason) }, 'scheduler state unavailable; check delayed');
      return park(job, token, deps, 'scheduler-unavailable', admission.keys, 1_000);
    }
    if (taken) return lease;
    await giveBack(lease, pool, deps);
    admission.unpick();
    deps.metrics.parked.inc({ reason: 'limit-raced' });
    await deps.scheduler.refreshNow();
  }
}

async function giveBack(lease: SlotLease, pool: Priority, deps: CheckProcessorDeps): Promise<void> {
  await lease.release();
  deps.metrics.slotsHeld.dec({ pool });
}

/** What an outcome says about its payer's health (nothing for account-wide or request faults). */
function payerSignal(
  outcome: CallOutcome,
  callMs: number,
  slowCallMs: number,
): PayerSignal | undefined {
  if (outcome.kind === 'retryable') return 'failure';
  if (outcome.kind === 'answer') return callMs > slowCallMs ? 'slow' : 'ok';
  return undefined;
}

/** Moves the check back to wait `delayMs` (jittered) without spending an attempt. */
async function park(
  job: Job<CheckJobData, CheckJobResult>,
  token: string | undefined,
  deps: CheckProcessorDeps,
  reason: string,
  keys: CheckKeys,
  delayMs: number,
): Promise<never> {
  // Parking spends no attempts, so a payer that never comes back would hold its checks forever:
  // a check gives up once its payer has been down that long while it waited (not merely since it
  // was submitted: a long run's tail must not fail on a breaker that just opened).
  const downSince = deps.scheduler.breaker(keys.payer).downSince;
  const waitedMs = Date.now() - Math.max(job.timestamp, downSince);
  if (reason === 'breaker-open' && downSince > 0 && waitedMs > deps.outageMaxWaitMs) {
    throw new UnrecoverableError(
      `payer unavailable: payer ${keys.payer} kept failing (AAA 42/80, 5xx or timeouts) for ` +
        `the ${Math.round(waitedMs / 60_000)} minutes this check waited; submit it again later`,
    );
  }
  deps.metrics.parked.inc({ reason });
  deps.logger.debug({ jobId: job.id, reason, payer: keys.payer }, 'check parked');
  if (job.opts.priority && deps.requeuePriority) {
    // Back of its tenant's fair order: with its old priority it would come back ahead of the
    // checks behind it and, held back again, keep them from the worker's lanes.
    await job.changePriority({ priority: await deps.requeuePriority(keys.tenant) });
  }
  return await delayUntil(job, token, Date.now() + delayMs + Math.random() * 500);
}

/** Turns the call's outcome into the job's result or failure. */
async function settle(
  job: Job<CheckJobData, CheckJobResult>,
  token: string | undefined,
  outcome: CallOutcome,
  call: { callStartedAt: number; callMs: number; serviceTypes: readonly string[] },
  deps: CheckProcessorDeps,
  log: Logger,
): Promise<CheckJobResult> {
  const now = deps.now ?? Date.now;
  const { callStartedAt, callMs } = call;
  switch (outcome.kind) {
    case 'answer':
      log.info({ callMs, aaaCodes: outcome.aaaCodes }, 'check answered');
      return {
        response: deps.cipher.seal(outcome.body),
        ...sealedSummary(outcome.body, deps.stedi.endpoint, call.serviceTypes, deps.cipher, log),
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
      return await delayUntil(job, token, now() + base * (0.5 + Math.random()));
    }
    case 'retryable':
      log.warn({ reason: outcome.reason, callMs }, 'check will be retried');
      throw new RetryableCheckError(outcome.reason);
    case 'rejected':
      if (outcome.alert) log.error({ reason: outcome.reason }, 'Stedi refused our credentials');
      else log.warn({ reason: outcome.reason }, 'check rejected by Stedi');
      throw new UnrecoverableError(outcome.reason);
  }
}

async function takeSlot(run: CheckRun): Promise<SlotLease> {
  const { job, token, pool, deps, log, admission } = run;
  let lease: SlotLease;
  // A check its payer or tenant holds back is parked, so it does not keep this worker's lane from
  // the checks of other payers behind it. A payer at its earned concurrency or cap may free up as
  // a call ends, so the check waits a moment first (not long: other payers' checks may need this
  // lane); the other limits (breaker, probe, tenant, NPI) say nothing of when: park now.
  const parkAfterMs = deps.parkAfterMs ?? 250;
  const parking = new AbortController();
  // One controller per acquire, fed by the long-lived shutdown signal: AbortSignal.any() would
  // leave a reference on the shutdown signal for every acquire on Node 20.
  const onShutdown = () => parking.abort(deps.shutdown.reason);
  deps.shutdown.addEventListener('abort', onShutdown, { once: true });
  if (deps.shutdown.aborted) parking.abort(deps.shutdown.reason);
  let heldBackSince: number | undefined;
  let parkedFor: HeldBack | undefined;
  const look = () => {
    const t = Date.now();
    const why = admission.heldBackBy();
    if (why === undefined || why === 'released') heldBackSince = undefined;
    else if (why !== 'payer' || (heldBackSince ??= t) + parkAfterMs <= t) {
      parkedFor = why;
      parking.abort();
    }
  };
  // At once too: a check its tenant holds back should not take a lane even for one tick.
  look();
  const watch = setInterval(look, Math.max(20, Math.min(250, parkAfterMs / 4)));
  watch.unref();
  admission.setWaiting(true);
  try {
    lease = await deps.semaphore.acquire({
      pool,
      signal: parking.signal,
      markCallStart: true,
      admission,
    });
  } catch (err) {
    if (err instanceof AcquireAbortedError && parkedFor && !deps.shutdown.aborted) {
      const view = deps.scheduler.breaker(admission.keys.payer);
      // A check parked again and again backs off (per check, up to 4 s), so a tenant held to a few
      // slots does not send its whole backlog round the workers every second, yet one of its
      // checks comes back soon after a slot of its frees. A payer's cap is contention of the
      // moment: those checks come back after parkAfterMs, always.
      const parks =
        parkedFor === 'payer' ? 1 : ((await deps.countPark?.(job.id ?? '').catch(() => 1)) ?? 1);
      const base = parkedFor === 'payer' ? parkAfterMs : 1_000;
      const delayMs =
        parkedFor === 'breaker-open'
          ? view.remainingMs
          : Math.min(4_000, base * 2 ** Math.min(parks - 1, 4));
      await park(job, token, deps, parkedFor, admission.keys, delayMs);
    }
    if (err instanceof AcquireAbortedError) {
      // Shutting down before the call: the check goes back to wait for another worker.
      return await backToWait(job, token);
    }
    if (err instanceof SemaphoreStoreError) {
      // Fail closed, but do not spend an attempt on our own outage.
      log.error({ err: err.message }, 'semaphore store unavailable; check delayed');
      return await delayUntil(job, token, Date.now() + 1_000 + Math.random() * 1_000);
    }
    if (err instanceof LeaseLostError) {
      // The slot handed to us could not record the call start: try again shortly.
      return await delayUntil(job, token, Date.now() + 500);
    }
    throw err;
  } finally {
    clearInterval(watch);
    deps.shutdown.removeEventListener('abort', onShutdown);
    admission.setWaiting(false);
  }
  // The acquire recorded the call start (with the claim, or on hand-over): the call may begin.
  deps.metrics.slotsHeld.inc({ pool });
  return lease;
}

/**
 * Calls Stedi on `lease`. The cover is checked again as the request is written: a stall since
 * markCallStart() may have let it lapse, and then nothing is sent and the cover is written anew
 * (twice at most; then the check waits, as for a store too slow to start on).
 */
async function callCovered(
  lease: SlotLease,
  stedi: StediClient,
  request: Parameters<StediClient['check']>[0],
): Promise<CallOutcome> {
  for (let tries = 1; ; tries++) {
    try {
      return await callStedi(stedi, request, () => lease.assertCovered());
    } catch (err) {
      if (!(err instanceof CallCoverLapsedError) || tries === 3) throw err;
      await lease.markCallStart();
    }
  }
}

/** Errors that mean no call started, for reasons of the slot's, not of the check's. */
function isNoCall(err: unknown): boolean {
  return (
    err instanceof AcquireAbortedError ||
    err instanceof LeaseLostError ||
    err instanceof SemaphoreStoreError ||
    err instanceof CallCoverLapsedError
  );
}

async function callStedi(
  stedi: StediClient,
  request: Parameters<StediClient['check']>[0],
  beforeSend: () => void,
): Promise<CallOutcome> {
  try {
    return classifyReply(await stedi.check(request, { beforeSend }));
  } catch (err) {
    if (err instanceof StediTransportError) {
      return { kind: 'retryable', reason: err.message, mayStillRun: err.mayStillRun };
    }
    throw err;
  }
}

/** The check waits again until `until` (epoch ms) without spending an attempt. */
async function delayUntil(
  job: Job<CheckJobData, CheckJobResult>,
  token: string | undefined,
  until: number,
): Promise<never> {
  await job.moveToDelayed(until, token);
  throw new DelayedError();
}

/** The check goes back to wait for any worker (no call happened), without spending an attempt. */
async function backToWait(
  job: Job<CheckJobData, CheckJobResult>,
  token: string | undefined,
): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}
