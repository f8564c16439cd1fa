/**
 * Submitting a chunk to Stedi's Batch Eligibility API. The checks' requests are opened, converted
 * to v3 (the shape of Stedi's batch items) and tagged with their check id as
 * `submitterTransactionIdentifier`. Before the request goes, the chunk records that it may reach
 * Stedi; every submission of one chunk carries the chunk id as Idempotency-Key, so a worker that
 * died between Stedi's answer and the write of its batch id resubmits to the same batch rather
 * than a second one. Throttling and server errors come back later; a refusal fails the chunk.
 */
import { StediTransportError } from '../stedi/stedi-transport-error.js';
import { checkRequestSchema } from '../../shared/schemas/check-request.js';
import { convertRequest } from '../../shared/schemas/request-conversion.js';
import type { RoutedOutcome } from '../../shared/stedi-batch/routed-jobs.js';
import {
  comeBack,
  failAll,
  groups,
  handOverAll,
  longerWait,
  stampChecks,
  type ChunkResult,
  type ChunkRun,
} from './chunk-steps.js';
import { routedCheck } from './hand-over.js';

/** The chunk's items in Stedi's batch shape, and the checks that cannot be sent (with why). */
async function itemsOf(run: ChunkRun) {
  const { deps } = run;
  const items: Record<string, unknown>[] = [];
  const ids: string[] = [];
  const unsendable = new Map<string, RoutedOutcome>();
  for (const group of groups(run.job.data.checkIds, 50)) {
    const checks = await Promise.all(group.map((id) => routedCheck(deps.checks, id)));
    for (const check of checks) {
      const id = check?.id;
      // A check cancelled before its chunk went out is not sent.
      if (!check || !id || check.data.outcome) continue;
      const parsed = (() => {
        try {
          return checkRequestSchema.safeParse(deps.cipher.open(check.data.request));
        } catch {
          return undefined;
        }
      })();
      if (!parsed?.success) {
        unsendable.set(id, {
          kind: 'failed',
          reason: 'the check could not be read back to submit',
        });
        continue;
      }
      const v3 = convertRequest(parsed.data, 'v3');
      if (!v3.ok) {
        const fields = v3.issues.map((i) => i.path.join('.')).join(', ');
        unsendable.set(id, {
          kind: 'failed',
          reason: `the check cannot be sent to Stedi's batch API (fields: ${fields})`,
        });
        continue;
      }
      items.push({ ...v3.body, submitterTransactionIdentifier: id });
      ids.push(id);
    }
  }
  return { items, ids, unsendable };
}

/** Submits the chunk; comes back to poll once Stedi has accepted it. */
export async function submitChunk(run: ChunkRun): Promise<ChunkResult> {
  const { job, deps, log } = run;
  const data = job.data;
  if (deps.now() >= data.giveUpAt)
    return failAll(
      run,
      data.checkIds,
      "Stedi's Batch Eligibility API did not take the check before the give-up bound",
    );
  const { items, ids, unsendable } = await itemsOf(run);
  const unsettled = await handOverAll(
    run,
    unsendable.keys(),
    (id) => unsendable.get(id) ?? { kind: 'failed', reason: 'the check was not sent' },
  );
  if (items.length === 0) return failAll(run, unsettled, 'nothing of the chunk could be sent');
  await job.updateData({ ...job.data, submitStartedAt: data.submitStartedAt ?? deps.now() });
  let reply;
  try {
    reply = await deps.api.submit(
      { name: job.id ?? '', maxRetryHours: data.maxRetryHours, items },
      job.id ?? '',
    );
  } catch (err) {
    if (!(err instanceof StediTransportError)) throw err;
    deps.metrics.requests.inc({ call: 'submit', outcome: 'transport-error' });
    log.warn({ reason: err.message }, 'batch submission got no answer; will resubmit');
    return comeBack(run, longerWait(run), { unsettled });
  }
  deps.metrics.requests.inc({ call: 'submit', outcome: String(reply.status) });
  const body = reply.body as { batchId?: unknown } | undefined;
  if (reply.status >= 200 && reply.status < 300 && typeof body?.batchId === 'string') {
    const acceptedAt = deps.now();
    await job.updateData({
      ...job.data,
      stediBatchId: body.batchId,
      acceptedAt,
      pending: ids,
      unsettled,
      seenProgress: 0,
    });
    log.info({ stediBatchId: body.batchId, items: ids.length }, 'chunk accepted by Stedi');
    await stampChecks(run);
    return comeBack(run, deps.pollMs);
  }
  if (reply.status === 429 || reply.status === 408 || reply.status >= 500) {
    log.warn({ status: reply.status }, 'batch submission refused for now; will resubmit');
    return comeBack(run, reply.retryAfterMs ?? longerWait(run), { unsettled });
  }
  const credentials = reply.status === 401 || reply.status === 403;
  if (credentials)
    log.error({ status: reply.status }, 'Stedi refused our credentials for the batch API');
  else log.warn({ status: reply.status }, 'Stedi refused the batch submission');
  await job.updateData({ ...job.data, unsettled });
  return failAll(
    run,
    ids,
    credentials
      ? `Stedi refused the API key for its Batch Eligibility API (${reply.status}): check STEDI_API_KEY`
      : `Stedi's Batch Eligibility API refused the chunk (${reply.status})`,
  );
}
