/**
 * `--crash` / `--scenario crash`: L = 15, R = 5, 3 workers under a batch backlog with realtime
 * checks arriving (Poisson, 1.5 a second, as in `mixed`); a worker running a realtime check is
 * killed with SIGKILL 8 s in. Realtime keeps arriving until 5 s after the dead worker's slots are
 * free again. Reports when they were (against the Stedi bound), the realtime wait, and the two
 * parts a crash can add to it: the checks that were on the killed worker (they wait until they are
 * given to a live worker) and the realtime checks arriving while its slots are still taken.
 */
import { seededRandom } from '../../../src/shared/random.js';
import type { CheckJob } from '../../../src/shared/check-queues.js';
import type { Priority } from '../../../src/shared/queues.js';
import { percentile } from '../../support/holds.js';
import {
  enqueueBatch,
  poissonArrivals,
  round,
  sleep,
  tally,
  waitAll,
  type Figures,
} from '../checks.js';
import { checkRequest } from '../requests.js';
import { startStack, type Stack } from '../stack.js';
import type { Infra } from './keyed-stack.js';

const L = 15;
const R = 5;
/** Stedi's bound, scaled down from 90 s so the dead calls' slots come back within the run. */
const BOUND_MS = 10_000;

/** Runs the crash scenario with a backlog of `backlog` batch checks. */
export async function crashScenario(infra: Infra, backlog: number): Promise<Figures> {
  const stack = await startStack(
    {
      allocation: L,
      reserved: R,
      workers: 3,
      latencyMedianMs: 800,
      latencySigma: 0.5,
      stediTimeoutMs: BOUND_MS,
      name: `crash-${Date.now()}`,
    },
    infra,
  );
  let open = true;
  try {
    stack.simulator.resetStats();
    const jobs = await enqueueBatch(
      stack,
      Array.from({ length: backlog }, (_, i) => checkRequest(`B${i}`)),
    );
    const realtime: CheckJob[] = [];
    const arrivals = poissonArrivals(
      1.5,
      seededRandom(11),
      () => open,
      async (i) => realtime.push(await stack.queues.add('realtime', checkRequest(`RT${i}`))),
    );
    await sleep(8_000);
    const victim = await killOneRunningRealtime(stack);
    const { killedAt, onVictim } = victim;
    const recovery = await sampleRecovery(stack, killedAt, victim.worker.process.pid ?? 0);
    open = false;
    await arrivals;
    await waitAll([...jobs, ...realtime], 240_000);
    const end = stack.simulator.stats();
    const outcome = await tally(stack, [...jobs, ...realtime]);

    const byId = new Map(outcome.records.map((r) => [r.id, r]));
    const waitOf = (id: string) => {
      const r = byId.get(id);
      return r?.callStartedAt === undefined ? undefined : r.callStartedAt - r.submittedAt;
    };
    const rerunIds = new Set<string>();
    for (const j of [...jobs, ...realtime]) {
      const job = await stack.queues.get(j.id ?? '');
      if ((job?.stalledCounter ?? 0) > 0) rerunIds.add(j.id ?? '');
    }
    const killedRealtime = onVictim.realtime.map(waitOf).filter((w) => w !== undefined);
    // From the kill to the start of the check's call on a live worker.
    const killedRealtimeBack = onVictim.realtime
      .map((id) => byId.get(id)?.callStartedAt)
      .filter((t) => t !== undefined)
      .map((t) => t - killedAt);
    // Realtime checks that arrived while the dead worker's slots could still be taken (the
    // cover written ahead plus the bound), and were not on the killed worker.
    const slotsBackBy = killedAt + stack.config.SEMAPHORE_LEASE_MS / 2 + BOUND_MS;
    const duringDeadSlots = realtime
      .filter((j) => j.data.submittedAt >= killedAt && j.data.submittedAt <= slotsBackBy)
      .map((j) => waitOf(j.id ?? ''))
      .filter((w) => w !== undefined);
    const waits = outcome.waits.realtime;
    const onVictimIds = new Set([...onVictim.realtime, ...onVictim.batch]);
    return {
      workers: '3, one killed',
      reserved: R,
      slotsHeldByKilledWorker: victim.slots,
      killedWhileRunningRealtime: victim.runningRealtime ? 'yes' : 'no (none within 10 s)',
      stediBoundMs: BOUND_MS,
      coverAheadMs: stack.config.SEMAPHORE_LEASE_MS / 2,
      minInFlightAfterKill: recovery.minInFlight,
      secondsUntilDeadSlotsFree:
        recovery.backAt === undefined ? 'never (60 s)' : round((recovery.backAt - killedAt) / 1000),
      utilization5sAfterThat: round(recovery.utilizationAfter),
      realtimeChecks: realtime.length,
      realtimeWaitP50Ms: round(percentile(waits, 50)),
      realtimeWaitP99Ms: round(percentile(waits, 99)),
      realtimeWaitMaxMs: round(Math.max(...waits)),
      realtimeOnKilledWorker: onVictim.realtime.length,
      realtimeOnKilledWorkerWaitMaxMs: killedRealtime.length
        ? round(Math.max(...killedRealtime))
        : '-',
      realtimeOnKilledWorkerCallAgainMs: killedRealtimeBack.length
        ? round(Math.max(...killedRealtimeBack))
        : '-',
      realtimeInDeadSlotsWindow: duringDeadSlots.length,
      realtimeInDeadSlotsWindowP99Ms: duringDeadSlots.length
        ? round(percentile(duringDeadSlots, 99))
        : '-',
      checksOnKilledWorker: onVictimIds.size,
      checksRerun: rerunIds.size,
      checksRerunNotOnKilledWorker: [...rerunIds].filter((id) => !onVictimIds.has(id)).length,
      maxInFlight: end.maxInFlight,
      rejected429: end.rejected429,
      lostChecks: outcome.lost,
      failedChecks: outcome.failed,
    };
  } finally {
    open = false;
    await stack.stop();
  }
}

/**
 * Kills a worker running a realtime check (its call takes ~800 ms, its wait ~10 ms, so the check
 * is almost always at Stedi then): the run always shows that check's recovery. Nothing slow lies
 * between seeing the check and the kill (names are read before, slots after: a dead worker's
 * slots stay taken).
 */
async function killOneRunningRealtime(stack: Stack) {
  const live = stack.workers.filter((w) => w.process.exitCode === null);
  const byPid = new Map<string, { worker: (typeof live)[number]; name: string }>();
  for (const worker of live)
    byPid.set(String(worker.process.pid), { worker, name: await stack.workerName(worker) });
  const deadline = Date.now() + 10_000;
  let chosen: { worker: (typeof live)[number]; name: string } | undefined;
  let runningRealtime = false;
  while (!chosen) {
    for (const job of await stack.queues.queues.realtime.getActive()) {
      chosen ??= byPid.get(job.processedBy?.split(':')[1] ?? '');
    }
    runningRealtime = chosen !== undefined;
    if (!chosen && Date.now() > deadline) chosen = byPid.values().next().value;
    if (!chosen) await sleep(10);
  }
  chosen.worker.process.kill('SIGKILL');
  const killedAt = Date.now();
  // Its jobs stay active under its name until they are given back (0.75 s at the soonest).
  const onVictim = await activeJobsOf(stack, chosen.name);
  const slots = (await stack.slotsByPid()).get(chosen.worker.process.pid ?? 0) ?? 0;
  return { ...chosen, killedAt, onVictim, slots, runningRealtime };
}

/** Active jobs of both queues that the worker named `name` processes (BullMQ's processedBy). */
async function activeJobsOf(stack: Stack, name: string): Promise<Record<Priority, string[]>> {
  const out: Record<Priority, string[]> = { realtime: [], batch: [] };
  for (const priority of ['realtime', 'batch'] as const) {
    for (const job of await stack.queues.queues[priority].getActive()) {
      if (job.processedBy === name && job.id) out[priority].push(job.id);
    }
  }
  return out;
}

/**
 * Samples in-flight at the simulator until no slot is held by the killed worker any more (they
 * come back at call start + cover + bound), then the busy share of the next 5 s.
 */
async function sampleRecovery(stack: Stack, killedAt: number, victimPid: number) {
  let minInFlight = L;
  let backAt: number | undefined;
  let lookedAt = 0;
  while (Date.now() - killedAt < 60_000) {
    const { inFlight } = stack.simulator.stats();
    if (process.env.BENCH_TRACE) console.error(`t+${Date.now() - killedAt}ms inFlight=${inFlight}`);
    minInFlight = Math.min(minInFlight, inFlight);
    if (Date.now() - lookedAt >= 250) {
      lookedAt = Date.now();
      if (!(await stack.slotsByPid()).get(victimPid)) {
        backAt = lookedAt;
        break;
      }
    }
    await sleep(50);
  }
  // Busy slot-time counts running calls up to now, so the difference covers exactly the window.
  const from = stack.simulator.stats();
  await sleep(5_000);
  const to = stack.simulator.stats();
  const utilizationAfter =
    (to.busySlotMs - from.busySlotMs) / (L * (to.elapsedMs - from.elapsedMs));
  return { minInFlight, backAt, utilizationAfter };
}
