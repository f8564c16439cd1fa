/**
 * A page of a run's results: the finished checks in the order the results log gave them, as JSON
 * lines or CSV. Rows hold what GET /v1/eligibility/:id already gives the run's owner minus the full
 * answer: status, AAA codes, failure reason and the normalized summary (no patient identifier).
 */
import type { CheckQueues } from '../../shared/check-queues.js';
import {
  runCheckId,
  type RunLogEntry,
  type RunRecord,
  type RunStore,
} from '../../shared/runs/run-store.js';
import type { CheckSummary } from '../../shared/schemas/check-summary.js';
import type { RunResultRow } from './run-schemas.js';

/** The rows of `entries`, read from their jobs now. */
export async function resultRows(
  queues: CheckQueues,
  runs: RunStore,
  run: RunRecord,
  entries: readonly RunLogEntry[],
): Promise<RunResultRow[]> {
  const cancelled = await runs.cancelledAmong(
    run,
    entries.map((e) => runCheckId(run, e.index)),
  );
  return Promise.all(
    entries.map(async ({ index, seq }): Promise<RunResultRow> => {
      const checkId = runCheckId(run, index);
      const job = await queues.get(checkId);
      if (!job) {
        const status = cancelled.has(checkId) ? 'cancelled' : 'expired';
        return { seq, checkId, index, status, attempts: 0, aaaCodes: [] };
      }
      const row: RunResultRow = {
        seq,
        checkId,
        index,
        // Logged only once finished: a job with a return value completed, any other failed.
        status: job.finishedOn && job.returnvalue ? 'completed' : 'failed',
        attempts: job.attemptsMade,
        aaaCodes: [...(job.returnvalue?.aaaCodes ?? [])],
      };
      if (job.finishedOn) row.finishedAt = new Date(job.finishedOn).toISOString();
      if (row.status === 'failed' && job.failedReason) row.failureReason = job.failedReason;
      if (job.returnvalue?.summary)
        row.summary = queues.cipher.open(job.returnvalue.summary) as CheckSummary;
      return row;
    }),
  );
}

/** The CSV columns, in order. */
export const csvColumns = [
  'seq',
  'checkId',
  'index',
  'status',
  'attempts',
  'finishedAt',
  'coverage',
  'planName',
  'aaaCodes',
  'failureReason',
  'summary',
] as const;

/** JSON lines: one row per line. */
export function toJsonLines(rows: readonly RunResultRow[]): string {
  return rows.map((r) => JSON.stringify(r) + '\n').join('');
}

/** CSV (RFC 4180), with the header line when `header` is set. */
export function toCsv(rows: readonly RunResultRow[], header: boolean): string {
  const lines = rows.map((r) =>
    [
      r.seq,
      r.checkId,
      r.index,
      r.status,
      r.attempts,
      r.finishedAt ?? '',
      r.summary?.coverage ?? '',
      r.summary?.plan?.name ?? '',
      r.aaaCodes.join(' '),
      r.failureReason ?? '',
      r.summary ? JSON.stringify(r.summary) : '',
    ]
      .map((v) => csvField(String(v)))
      .join(','),
  );
  if (header) lines.unshift(csvColumns.join(','));
  return lines.map((l) => l + '\r\n').join('');
}

/** One CSV field: quoted when needed; a leading =, +, -, @ is defused for spreadsheets. */
function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
