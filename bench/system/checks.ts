/** Submitting checks to a benchmark stack and reading back what became of them. */
import type { CheckJob } from '../../src/shared/check-queues.js';
import type { Priority } from '../../src/shared/queues.js';
import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';
import type { SimulatorStats } from '../../src/simulator/stats.js';
import type { Hold } from '../support/holds.js';
import type { Stack } from './stack.js';

/** Figures a scenario prints, in order. */
export type Figures = Record<string, number | string>;

/** Enqueues batch checks in bulk (500 a call), as one tenant. */
export async function enqueueBatch(
  stack: Stack,
  requests: readonly EligibilityRequest[],
  tenant?: string,
): Promise<CheckJob[]> {
  const jobs: CheckJob[] = [];
  for (let i = 0; i < requests.length; i += 500)
    jobs.push(...(await stack.queues.addBulk('batch', requests.slice(i, i + 500), tenant)));
  return jobs;
}

/** Resolves when no batch check waits any more (the last one has been taken). */
export async function waitBacklogStarted(stack: Stack): Promise<number> {
  for (;;) {
    const counts = await stack.queues.queues.batch.getJobCounts(
      'waiting',
      'prioritized',
      'delayed',
    );
    if ((counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0) === 0)
      return Date.now();
    await sleep(50);
  }
}

/** Waits until every job completed or failed, or the timeout passed. */
export async function waitAll(jobs: readonly CheckJob[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const job of jobs) {
    for (;;) {
      const state = await job.getState();
      if (state === 'completed' || state === 'failed') break;
      if (Date.now() > deadline) return;
      await sleep(50);
    }
  }
}

/** What became of one check. */
export interface CheckRecord {
  readonly id: string;
  readonly priority: Priority;
  readonly state: string;
  readonly submittedAt: number;
  readonly callStartedAt: number | undefined;
  readonly finishedOn: number | undefined;
  readonly attemptsMade: number;
  readonly failedReason: string | undefined;
}

/** Reads every job back: holds and waits by priority, lost and failed counts, one record each. */
export async function tally(stack: Stack, jobs: readonly CheckJob[]) {
  const holds: Record<Priority, Hold[]> = { realtime: [], batch: [] };
  const waits: Record<Priority, number[]> = { realtime: [], batch: [] };
  const records: CheckRecord[] = [];
  let lost = 0;
  let failed = 0;
  let lastFinish = 0;
  for (const j of jobs) {
    const job = await stack.queues.get(j.id ?? '');
    const state = job ? await job.getState() : 'missing';
    if (state === 'failed') failed++;
    if (state !== 'completed' && state !== 'failed') lost++;
    const r = state === 'completed' ? job?.returnvalue : undefined;
    records.push({
      id: j.id ?? '',
      priority: j.data.priority,
      state,
      submittedAt: j.data.submittedAt,
      callStartedAt: r?.callStartedAt,
      finishedOn: job?.finishedOn,
      attemptsMade: job?.attemptsMade ?? 0,
      failedReason: job?.failedReason,
    });
    if (state !== 'completed' && state !== 'failed') continue;
    lastFinish = Math.max(lastFinish, job?.finishedOn ?? 0);
    if (!job || !r) continue;
    const p = job.data.priority;
    holds[p].push({ grantedAt: r.callStartedAt, releasedAt: r.callStartedAt + r.callMs });
    waits[p].push(r.callStartedAt - job.data.submittedAt);
  }
  return { holds, waits, lost, failed, lastFinish, records };
}

/** Samples the simulator's stats every `everyMs` until stopped. */
export function sampleSimulator(
  stack: Stack,
  everyMs = 100,
): { stop(): { at: number; stats: SimulatorStats }[] } {
  const samples: { at: number; stats: SimulatorStats }[] = [];
  const take = () => samples.push({ at: Date.now(), stats: stack.simulator.stats() });
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return samples;
    },
  };
}

/** The last sample taken at or before `at`. */
export function sampleAt<T extends { at: number }>(samples: readonly T[], at: number): T {
  let found = samples[0];
  for (const s of samples) if (s.at <= at) found = s;
  if (!found) throw new Error('no samples');
  return found;
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Realtime checks arriving as a Poisson process at `perSecond` until `open()` turns false. */
export async function poissonArrivals(
  perSecond: number,
  random: () => number,
  open: () => boolean,
  submit: (i: number) => Promise<unknown>,
): Promise<void> {
  let i = 0;
  while (open()) {
    await sleep(-Math.log(1 - random()) * (1000 / perSecond));
    if (open()) await submit(i++);
  }
}
