/**
 * `--scenario lend`: L = 15, R = 5, default lending settings, 4 workers, a batch backlog with
 * light realtime (Poisson, 0.5 a second: a front desk checking a patient every two seconds).
 * Share of the allocation busy while batch waits, and realtime wait, with ~150 ms and ~800 ms
 * calls; then with no realtime at all; then a realtime flood with a floor of 1.
 */
import type { LocalDynamo } from '../../../src/shared/local/dynalite-server.js';
import type { LocalRedis } from '../../../src/shared/local/redis-server.js';
import { seededRandom } from '../../../src/shared/random.js';
import type { CheckJob } from '../../../src/shared/check-queues.js';
import { percentile } from '../../support/holds.js';
import {
  enqueueBatch,
  poissonArrivals,
  round,
  sleep,
  tally,
  waitAll,
  waitBacklogStarted,
  type Figures,
} from '../checks.js';
import { checkRequest } from '../requests.js';
import { startStack } from '../stack.js';

const L = 15;
const R = 5;

/** Runs the lend scenario's four runs. */
export async function lendScenario(
  infra: { redis: LocalRedis; dynamo: LocalDynamo },
  only?: string,
): Promise<Record<string, Figures>> {
  const runs: Record<string, () => Promise<Figures>> = {
    'lend 150ms': () => lendRun(infra, 150, 0.5, 200 * L),
    'lend 800ms': () => lendRun(infra, 800, 0.5, 80 * L),
    'lend 800ms no realtime': () => lendRun(infra, 800, 0, 40 * L),
    'lend 800ms realtime flood (floor 1)': () => flood(infra),
  };
  const results: Record<string, Figures> = {};
  for (const [name, run] of Object.entries(runs))
    if (!only || name.includes(only)) results[name] = await run();
  return results;
}

async function lendRun(
  infra: { redis: LocalRedis; dynamo: LocalDynamo },
  medianMs: number,
  realtimePerSecond: number,
  backlog: number,
): Promise<Figures> {
  const stack = await startStack(
    {
      allocation: L,
      reserved: R,
      workers: 4,
      latencyMedianMs: medianMs,
      latencySigma: 0.5,
      stediTimeoutMs: 90_000,
      name: `lend-${medianMs}-${realtimePerSecond}-${Date.now()}`,
    },
    infra,
  );
  try {
    const batch = await enqueueBatch(
      stack,
      Array.from({ length: backlog }, (_, i) => checkRequest(`B${i}`)),
    );
    // The window opens once the backlog waits, not while the bench is still enqueueing it.
    const t0 = Date.now();
    stack.simulator.resetStats();
    const realtime: CheckJob[] = [];
    let open = true;
    const arrivals =
      realtimePerSecond > 0
        ? poissonArrivals(
            realtimePerSecond,
            seededRandom(11),
            () => open,
            async (i) => realtime.push(await stack.queues.add('realtime', checkRequest(`RT${i}`))),
          )
        : Promise.resolve();
    const backlogEnd = await waitBacklogStarted(stack);
    open = false;
    const sim = stack.simulator.stats();
    await arrivals;
    await waitAll([...batch, ...realtime]);
    const outcome = await tally(stack, [...batch, ...realtime]);
    const waits = outcome.waits.realtime;
    const after = stack.simulator.stats();
    return {
      callMedianMs: medianMs,
      batchChecks: batch.length,
      realtimeChecks: realtime.length,
      realtimePerSecond,
      busyShareWhileBatchWaits: round(sim.busySlotMs / (L * sim.elapsedMs)),
      backlogSeconds: round((backlogEnd - t0) / 1000),
      realtimeWaitP50Ms: waits.length ? round(percentile(waits, 50)) : '-',
      realtimeWaitP99Ms: waits.length ? round(percentile(waits, 99)) : '-',
      realtimeWaitMaxMs: waits.length ? round(Math.max(...waits)) : '-',
      maxInFlight: after.maxInFlight,
      rejected429: after.rejected429,
      lostChecks: outcome.lost,
    };
  } finally {
    await stack.stop();
  }
}

/** Batch fills the allocation, then 30 realtime checks arrive at once. */
async function flood(infra: { redis: LocalRedis; dynamo: LocalDynamo }): Promise<Figures> {
  const stack = await startStack(
    {
      allocation: L,
      reserved: R,
      workers: 4,
      latencyMedianMs: 800,
      latencySigma: 0.5,
      stediTimeoutMs: 90_000,
      name: `lend-flood-${Date.now()}`,
      env: { STEDI_REALTIME_FLOOR: '1' },
    },
    infra,
  );
  try {
    stack.simulator.resetStats();
    const batch = await enqueueBatch(
      stack,
      Array.from({ length: 40 * L }, (_, i) => checkRequest(`B${i}`)),
    );
    await sleep(6_000);
    const floodAt = Date.now();
    const realtime = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stack.queues.add('realtime', checkRequest(`RT${i}`))),
    );
    await waitAll(realtime, 120_000);
    const rt = await tally(stack, realtime);
    const starts = rt.records
      .map((r) => r.callStartedAt)
      .filter((s): s is number => s !== undefined)
      .sort((a, b) => a - b);
    await waitAll(batch);
    const all = await tally(stack, [...batch, ...realtime]);
    const batchCalls = all.holds.batch.map((h) => h.releasedAt - h.grantedAt);
    return {
      floor: 1,
      reserve: R,
      realtimeChecks: realtime.length,
      firstRealtimeStartMs: round((starts[0] ?? Infinity) - floodAt),
      realtimeHoldsReserveAfterMs: round((starts[R - 1] ?? Infinity) - floodAt),
      batchCallP50Ms: round(percentile(batchCalls, 50)),
      batchCallP99Ms: round(percentile(batchCalls, 99)),
      maxInFlight: stack.simulator.stats().maxInFlight,
      rejected429: stack.simulator.stats().rejected429,
      lostChecks: all.lost,
    };
  } finally {
    await stack.stop();
  }
}
