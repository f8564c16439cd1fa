/** The API view of a run: counts, progress and the estimated time to completion. */
import { RECENT_WINDOW_MS, type RunProgress, type RunRecord } from '../../shared/runs/run-store.js';
import type { RunView } from './run-schemas.js';

/** The API path of a run. */
export const runPath = (id: string): string => `/v1/runs/${id}`;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Builds the view of `run` from its progress read at `now`. */
export function runView(run: RunRecord, p: RunProgress, now = Date.now()): RunView {
  const c = p.counts;
  const unfinished = c.waiting + c.active + c.delayed;
  const finished = run.size - unfinished;
  const over = unfinished === 0;
  const view: RunView = {
    id: run.id,
    status: run.cancelledAt ? (over ? 'cancelled' : 'cancelling') : over ? 'completed' : 'running',
    total: run.size,
    ...(run.route ? { route: run.route } : {}),
    counts: c,
    progress: run.size > 0 ? finished / run.size : 1,
    createdAt: iso(run.createdAt),
    links: { self: runPath(run.id), results: `${runPath(run.id)}/results` },
  };
  if (run.cancelledAt) view.cancelledAt = iso(run.cancelledAt);
  if (over && p.lastFinishedAt) view.finishedAt = iso(p.lastFinishedAt);
  const seconds = over ? 0 : secondsRemaining(run, p, unfinished, now);
  if (seconds !== undefined) {
    view.estimatedSecondsRemaining = seconds;
    view.estimatedCompletionAt = iso(now + seconds * 1000);
  }
  return view;
}

/**
 * Remaining checks over the finishing rate: the last minute's when checks finished in it (the
 * allocation is shared, so the recent rate says most about the next minutes), else the whole
 * run's. Undefined until a check has finished.
 */
function secondsRemaining(
  run: RunRecord,
  p: RunProgress,
  unfinished: number,
  now: number,
): number | undefined {
  const c = p.counts;
  const done = c.completed + c.failed;
  let perSecond: number;
  if (p.finishedRecently > 0)
    perSecond = p.finishedRecently / (Math.min(RECENT_WINDOW_MS, now - run.createdAt) / 1000);
  else if (done > 0 && p.lastFinishedAt && p.lastFinishedAt > run.createdAt)
    perSecond = done / ((p.lastFinishedAt - run.createdAt) / 1000);
  else return undefined;
  if (!Number.isFinite(perSecond) || perSecond <= 0) return undefined;
  return Math.ceil(unfinished / perSecond);
}
