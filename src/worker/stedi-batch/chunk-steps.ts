/** What the chunk's submit and poll steps share: their dependencies and their small moves. */
import { DelayedError, type Job, type Queue } from 'bullmq';
import type { CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import type {
  ChunkJobData,
  RoutedCheckData,
  RoutedOutcome,
} from '../../shared/stedi-batch/routed-jobs.js';
import type { BatchApiClient } from './batch-api-client.js';
import { handOver, routedCheck, type OutcomeFor } from './hand-over.js';
import type { StediBatchMetrics } from './stedi-batch-metrics.js';

/** What processing a chunk needs. */
export interface ChunkDeps {
  readonly api: BatchApiClient;
  readonly checks: Queue<RoutedCheckData, CheckJobResult>;
  readonly cipher: ValueCipher;
  /** Wait before the first poll, and after a poll that saw progress (ms). */
  readonly pollMs: number;
  /** Longest wait between polls that see no progress (ms). */
  readonly pollMaxMs: number;
  readonly metrics: StediBatchMetrics;
  readonly logger: Logger;
  readonly now: () => number;
}

/** A chunk being processed. */
export interface ChunkRun {
  readonly job: Job<ChunkJobData>;
  readonly token: string | undefined;
  readonly deps: ChunkDeps;
  readonly log: Logger;
}

/** What a finished chunk reports (its job's return value). */
export interface ChunkResult {
  readonly stediBatchId?: string;
  readonly checks: number;
}

/** The outcome of a check given one before its hand-over was settled, when it is asked again. */
export const noOutcome: RoutedOutcome = {
  kind: 'failed',
  reason: "Stedi's batch gave no outcome for this check",
};

/** Saves the chunk's state and comes back in `ms` (no attempt spent, no process kept busy). */
export async function comeBack(
  run: ChunkRun,
  ms: number,
  patch: Partial<ChunkJobData> = {},
): Promise<never> {
  await run.job.updateData({ ...run.job.data, ...patch, pollDelayMs: ms });
  await run.job.moveToDelayed(run.deps.now() + ms, run.token);
  throw new DelayedError();
}

/** The next wait while nothing changes: twice the last, up to the maximum. */
export function longerWait(run: ChunkRun): number {
  const last = run.job.data.pollDelayMs ?? run.deps.pollMs;
  return Math.min(run.deps.pollMaxMs, Math.max(run.deps.pollMs, last * 2));
}

/**
 * Hands each check of `ids` its outcome (`outcome(id)` is asked only for checks that have none
 * yet); resolves with those not settled yet (busy when the poller came by).
 */
export async function handOverAll(
  run: ChunkRun,
  ids: Iterable<string>,
  outcome: (id: string) => OutcomeFor,
): Promise<string[]> {
  const left: string[] = [];
  for (const group of groups([...ids], 50)) {
    const done = await Promise.all(
      group.map((id) =>
        handOver(run.deps.checks, id, outcome(id), run.deps.cipher, run.job.data.stediBatchId),
      ),
    );
    group.forEach((id, i) => {
      if (!done[i]) left.push(id);
    });
  }
  return left;
}

/**
 * Fails every check of `ids` with `reason` and ends the chunk's asking: it finishes now, or
 * comes back only to settle the hand-overs a busy check delayed.
 */
export async function failAll(
  run: ChunkRun,
  ids: Iterable<string>,
  reason: string,
): Promise<ChunkResult> {
  const failed: RoutedOutcome = { kind: 'failed', reason };
  const left = await handOverAll(run, ids, () => failed);
  const unsettled = [...(run.job.data.unsettled ?? []), ...left];
  if (unsettled.length > 0)
    return comeBack(run, run.deps.pollMs, { settling: true, pending: [], unsettled });
  return finished(run);
}

/** The chunk's result once nothing is left to hand over. */
export function finished(run: ChunkRun): ChunkResult {
  const id = run.job.data.stediBatchId;
  return { ...(id ? { stediBatchId: id } : {}), checks: run.job.data.checkIds.length };
}

/** Records Stedi's batch id on each check of the chunk still waiting for its outcome. */
export async function stampChecks(run: ChunkRun): Promise<void> {
  const { job, deps } = run;
  const stediBatchId = job.data.stediBatchId;
  if (!stediBatchId || job.data.stamped) return;
  for (const group of groups(job.data.pending ?? [], 50))
    await Promise.all(
      group.map(async (id) => {
        const check = await routedCheck(deps.checks, id);
        if (check && !check.data.stediBatchId)
          await check.updateData({ ...check.data, stediBatchId });
      }),
    );
  await job.updateData({ ...job.data, stamped: true });
}

/** `list` in groups of `size`, to bound the Redis calls in flight. */
export function groups<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
