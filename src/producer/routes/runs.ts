/**
 * /v1/runs: the checks of one batch POST as one resource (progress, results, cancellation).
 * A run is visible only to the API key that created it: any other key gets 404, as for an
 * unknown id, so run ids reveal nothing to other tenants.
 */
import { Router, type Request, type Response } from 'express';
import type { CheckQueues } from '../../shared/check-queues.js';
import type { RunRecord, RunStore } from '../../shared/runs/run-store.js';
import type { ApiKey } from '../auth/api-keys.js';
import { ownedOr404, requireScope } from '../auth/require-scope.js';
import type { RateLimiter } from '../rate-limiter.js';
import { sendReply, errorReply } from '../reply.js';
import { resultRows, toCsv, toJsonLines } from '../runs/run-results.js';
import { runPath, runView } from '../runs/run-view.js';

/** What the runs routes need. */
export interface RunRouteDeps {
  readonly keys: readonly ApiKey[];
  readonly queues: CheckQueues;
  readonly runs: RunStore;
  readonly limiter: RateLimiter;
}

/** Most rows on one results page, and the default. */
export const RESULTS_PAGE_MAX = 1000;
const RESULTS_PAGE_DEFAULT = 500;

/** Builds the router mounted at /v1/runs. */
export function runRoutes(deps: RunRouteDeps): Router {
  const router = Router();
  const limit = deps.limiter.middleware();
  const read = [requireScope(deps.keys, 'read'), limit];
  const submit = [requireScope(deps.keys, 'submit'), limit];

  /** The caller's run, or the 404 sent. */
  async function ownRun(req: Request, res: Response): Promise<RunRecord | undefined> {
    const id = String(req.params.id);
    return ownedOr404(res, await deps.runs.get(id), `no run with id ${id}`);
  }

  router.get('/:id', ...read, async (req, res) => {
    const run = await ownRun(req, res);
    if (!run) return;
    res.json(runView(run, await deps.runs.progress(run)));
  });

  router.get('/:id/results', ...read, async (req, res) => {
    const query = parseResultsQuery(req.query);
    if ('issues' in query) {
      sendReply(res, errorReply(400, 'invalid query', { issues: query.issues }));
      return;
    }
    const run = await ownRun(req, res);
    if (!run) return;
    const { entries, logged } = await deps.runs.readLog(run, query.cursor, query.limit);
    const rows = await resultRows(deps.queues, deps.runs, run, entries);
    const next = entries.at(-1)?.seq ?? query.cursor;
    const progress = await deps.runs.progress(run);
    // Every check is either logged or gone by retention (never logged): nothing more will come.
    const complete = logged + progress.counts.expired >= run.size && entries.length < query.limit;
    const base = `${runPath(run.id)}/results?format=${query.format}&limit=${query.limit}`;
    res.set({
      'Next-Cursor': String(next),
      'Results-Complete': String(complete),
      Link: `<${base}&cursor=${next}>; rel="next"`,
    });
    if (query.format === 'csv') {
      res.type('text/csv; charset=utf-8').send(toCsv(rows, query.cursor === 0));
    } else {
      res.type('application/x-ndjson; charset=utf-8').send(toJsonLines(rows));
    }
  });

  router.delete('/:id', ...submit, async (req, res) => {
    const run = await ownRun(req, res);
    if (!run) return;
    const { cancelled } = await deps.runs.cancel(run);
    const after = (await deps.runs.get(run.id)) ?? run;
    res.json({ ...runView(after, await deps.runs.progress(after)), cancelledNow: cancelled });
  });

  return router;
}

type ResultsQuery = { cursor: number; limit: number; format: 'jsonl' | 'csv' };

/** The results page query (cursor, limit, format), or the fields in error. */
function parseResultsQuery(
  q: Request['query'],
): ResultsQuery | { issues: { path: string; message: string }[] } {
  const issues: { path: string; message: string }[] = [];
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const raw = q[name];
    if (raw === undefined) return dflt;
    const n = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
    if (n >= min && n <= max) return n;
    issues.push({ path: name, message: `must be a whole number from ${min} to ${max}` });
    return dflt;
  };
  const cursor = int('cursor', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = int('limit', RESULTS_PAGE_DEFAULT, 1, RESULTS_PAGE_MAX);
  const format = q.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'csv')
    issues.push({ path: 'format', message: 'must be jsonl or csv' });
  return issues.length > 0
    ? { issues }
    : { cursor, limit, format: format === 'csv' ? 'csv' : 'jsonl' };
}
