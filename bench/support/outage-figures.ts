/**
 * What a Redis outage did to a run of retrying clients (retrying-clients.ts) and to the checks they
 * got accepted: how the API answered while Redis was stopped, whether every key got one check and
 * every check an answer, and whether Stedi saw one call per check within the allocation.
 */
import type { CheckQueues } from '../../src/shared/check-queues.js';
import type { SimulatorStats } from '../../src/simulator/stats.js';
import type { Answer } from './retrying-clients.js';

/** The outage figures, in print order. */
export interface OutageFigures {
  readonly redisStoppedSeconds: number;
  readonly postsDuringOutage: number;
  readonly posts202DuringOutage: number;
  readonly posts503DuringOutage: number;
  readonly postAnswerMaxMsDuringOutage: number;
  /** POSTs of the whole run not answered within 2 s (no answer counts). */
  readonly postsNotAnsweredWithin2s: number;
  readonly readyzDuringOutage: number;
  readonly readyzNot503DuringOutage: number;
  readonly readyzMaxMsDuringOutage: number;
  readonly firstAcceptedAfterResumeMs: number | string;
  readonly idempotencyKeys: number;
  readonly checksAccepted: number;
  /** Checks in Redis that no accepted answer names: a second check for a key. */
  readonly checksBeyondOnePerKey: number;
  /** Accepted checks not completed or failed in the end. */
  readonly lostChecks: number;
  readonly failedChecks: number;
  readonly stediCalls: number;
  /** Calls beyond one per completed check: a check called again, or an answer lost. */
  readonly stediCallsBeyondOnePerCheck: number;
  readonly maxInFlight: number;
  readonly allocation: number;
  readonly rejected429: number;
}

/** Reads back the checks in `queues` and computes the figures. */
export async function outageFigures(input: {
  readonly answers: readonly Answer[];
  readonly readiness: readonly Answer[];
  readonly accepted: ReadonlyMap<string, readonly string[]>;
  readonly stoppedAt: number;
  readonly resumedAt: number;
  readonly queues: CheckQueues;
  readonly simulator: SimulatorStats;
  readonly allocation: number;
}): Promise<OutageFigures> {
  const { answers, readiness, stoppedAt, resumedAt } = input;
  const during = (a: Answer) => a.at >= stoppedAt && a.at < resumedAt;
  const posts = answers.filter(during);
  const ready = readiness.filter(during);
  const firstAfter = answers.find((a) => a.at >= resumedAt && a.status === 202);
  const acceptedIds = new Set([...input.accepted.values()].flat());
  let beyond = 0;
  let lost = 0;
  let failed = 0;
  let completed = 0;
  const seen = new Set<string>();
  for (const queue of Object.values(input.queues.queues)) {
    const jobs = await queue.getJobs(
      ['completed', 'failed', 'waiting', 'prioritized', 'active', 'delayed'],
      0,
      -1,
    );
    for (const job of jobs) {
      const id = job.id ?? '';
      if (seen.has(id)) continue;
      seen.add(id);
      if (!acceptedIds.has(id)) beyond++;
      if (job.finishedOn && job.failedReason) failed++;
      else if (job.finishedOn) completed++;
    }
  }
  for (const id of acceptedIds) {
    const job = await input.queues.get(id);
    const state = job ? await job.getState() : 'missing';
    if (state !== 'completed' && state !== 'failed') lost++;
  }
  // Requests refused with 429 held no slot at the simulator: not calls.
  const calls = input.simulator.requests - input.simulator.rejected429;
  const maxMs = (list: readonly Answer[]) => Math.max(0, ...list.map((a) => a.ms));
  return {
    redisStoppedSeconds: Math.round((resumedAt - stoppedAt) / 100) / 10,
    postsDuringOutage: posts.length,
    posts202DuringOutage: posts.filter((a) => a.status === 202).length,
    posts503DuringOutage: posts.filter((a) => a.status === 503).length,
    postAnswerMaxMsDuringOutage: maxMs(posts),
    postsNotAnsweredWithin2s: answers.filter((a) => a.status === 'no answer' || a.ms > 2_000)
      .length,
    readyzDuringOutage: ready.length,
    readyzNot503DuringOutage: ready.filter((a) => a.status !== 503).length,
    readyzMaxMsDuringOutage: maxMs(ready),
    firstAcceptedAfterResumeMs: firstAfter ? firstAfter.at + firstAfter.ms - resumedAt : 'none',
    idempotencyKeys: input.accepted.size,
    checksAccepted: acceptedIds.size,
    checksBeyondOnePerKey: beyond,
    lostChecks: lost,
    failedChecks: failed,
    stediCalls: calls,
    stediCallsBeyondOnePerCheck: calls - completed - failed,
    maxInFlight: input.simulator.maxInFlight,
    allocation: input.allocation,
    rejected429: input.simulator.rejected429,
  };
}
