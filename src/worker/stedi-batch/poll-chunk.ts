/**
 * Polling a submitted chunk. Each poll reads the batch's status; when more of its items have
 * finished than last time (or it is COMPLETED), the completed results are read, page by page, and
 * each pending check is handed its outcome. Once Stedi calls the batch COMPLETED, checks without a
 * result are looked up among the failed items; a check still without one after three more polls
 * fails with a reason. Waits grow while nothing changes and shrink back on progress; past the
 * give-up bound (maxRetryHours and a margin) what is left fails.
 */
import { StediTransportError } from '../stedi/stedi-transport-error.js';
import { checkRequestSchema, requestedServiceTypes } from '../../shared/schemas/check-request.js';
import type { RoutedOutcome } from '../../shared/stedi-batch/routed-jobs.js';
import type { RoutedCheckJob } from '../../shared/stedi-batch/routed-queues.js';
import {
  comeBack,
  failAll,
  finished,
  handOverAll,
  longerWait,
  noOutcome,
  stampChecks,
  type ChunkResult,
  type ChunkRun,
} from './chunk-steps.js';
import { itemOutcome } from './item-outcome.js';

type Page = { items?: unknown[]; nextPageToken?: unknown };
const failedStates = ['VALIDATION_FAILED', 'FAILED'];

/** One Stedi call, counted; undefined when it got no answer or not a 200. */
async function read(
  run: ChunkRun,
  call: string,
  ask: () => Promise<{ status: number; body: unknown }>,
) {
  try {
    const reply = await ask();
    run.deps.metrics.requests.inc({ call, outcome: String(reply.status) });
    return reply.status === 200 ? (reply.body as Page & Record<string, unknown>) : undefined;
  } catch (err) {
    if (!(err instanceof StediTransportError)) throw err;
    run.deps.metrics.requests.inc({ call, outcome: 'transport-error' });
    return undefined;
  }
}

/** Reads every page of a paged call, each item to `take`; false when a page got no answer. */
async function readPages(
  run: ChunkRun,
  call: string,
  ask: (pageToken: string | undefined) => Promise<{ status: number; body: unknown }>,
  take: (item: Record<string, unknown>) => void,
): Promise<boolean> {
  let token: string | undefined;
  do {
    const page = await read(run, call, () => ask(token));
    if (!page) return false;
    for (const item of page.items ?? []) take(item as Record<string, unknown>);
    token = typeof page.nextPageToken === 'string' ? page.nextPageToken : undefined;
  } while (token !== undefined);
  return true;
}

/** Polls the chunk's batch once and hands over what it learned. */
export async function pollChunk(run: ChunkRun): Promise<ChunkResult> {
  const { job, deps, log } = run;
  const data = job.data;
  const batchId = data.stediBatchId ?? '';
  // A worker that died before it recorded the batch id on every check finishes that first.
  await stampChecks(run);
  const pending = new Set(data.pending ?? data.checkIds);
  // Unsettled checks have their outcome already: it is not asked for again.
  let unsettled = await handOverAll(run, data.unsettled ?? [], () => noOutcome);
  if (deps.now() >= data.giveUpAt) {
    await job.updateData({ ...job.data, unsettled });
    return failAll(
      run,
      pending,
      `Stedi's batch ${batchId} gave no answer for this check within ${data.maxRetryHours} hours and the margin`,
    );
  }
  if (pending.size === 0 && unsettled.length === 0) return finished(run);
  const status = await read(run, 'status', () => deps.api.status(batchId));
  if (!status) return comeBack(run, longerWait(run), { unsettled });
  const progress = Number(status.successCount ?? 0) + Number(status.errorCount ?? 0);
  const complete = status.status === 'COMPLETED';
  const moved = progress > (data.seenProgress ?? 0);
  const answered = new Map<string, unknown>();
  if (moved || complete) {
    const allRead = await readPages(
      run,
      'results',
      (token) => deps.api.results(batchId, token),
      (item) => {
        const id = item.submitterTransactionIdentifier;
        if (typeof id === 'string' && pending.has(id)) answered.set(id, item);
      },
    );
    if (!allRead) return comeBack(run, longerWait(run), { unsettled });
  }
  const now = deps.now();
  const outcomeOf =
    (id: string) =>
    (check: RoutedCheckJob): RoutedOutcome =>
      itemOutcome(answered.get(id), {
        serviceTypes: requestedServiceTypes(
          checkRequestSchema.parse(deps.cipher.open(check.data.request)),
        ),
        maxRetryHours: data.maxRetryHours,
        acceptedAt: data.acceptedAt ?? now,
        now,
        cipher: deps.cipher,
        log,
      });
  unsettled = [...unsettled, ...(await handOverAll(run, answered.keys(), outcomeOf))];
  for (const id of answered.keys()) pending.delete(id);
  let rounds = data.roundsAfterComplete ?? 0;
  if (complete && pending.size > 0) {
    const failed = new Map<string, string>();
    // A page that got no answer ends the lookup; the next poll looks again.
    await readPages(
      run,
      'items',
      (token) => deps.api.items(batchId, token, failedStates),
      (item) => {
        const { submitterTransactionIdentifier: id, state } = item;
        if (typeof id === 'string' && pending.has(id)) failed.set(id, String(state));
      },
    );
    const reasonOf = (id: string): RoutedOutcome => ({
      kind: 'failed',
      reason: `Stedi's batch ${batchId} did not run this check (item ${failed.get(id) ?? 'failed'}): check its fields and submit it again`,
    });
    unsettled = [...unsettled, ...(await handOverAll(run, failed.keys(), reasonOf))];
    for (const id of failed.keys()) pending.delete(id);
    rounds++;
    if (pending.size > 0 && rounds > 3) {
      await job.updateData({ ...job.data, unsettled });
      return failAll(
        run,
        pending,
        `Stedi called batch ${batchId} complete without a result for this check`,
      );
    }
  }
  if (pending.size === 0 && unsettled.length === 0) {
    log.info({ stediBatchId: batchId }, 'chunk finished');
    return finished(run);
  }
  const wait = moved ? deps.pollMs : longerWait(run);
  return comeBack(run, wait, {
    pending: [...pending],
    unsettled,
    seenProgress: Math.max(progress, data.seenProgress ?? 0),
    roundsAfterComplete: rounds,
  });
}
