/**
 * `npm run bench:system [-- --scenario NAME] [-- --json] [-- --crash] [-- --quick]`: the whole
 * pipeline (BullMQ, worker processes, DynamoDB semaphore, simulator) under batch backlogs.
 * Without --scenario it runs saturation and mixed (and crash with --crash).
 *
 *  saturation    L=15, R=0, 4 workers: utilization of the allocation, measured at the simulator.
 *  mixed         L=15, R=5, 4 workers, realtime checks arriving during the backlog: realtime queue
 *                wait (enqueue -> Stedi call start) and utilization of the batch pool.
 *  crash         L=15, R=5, 3 workers, realtime arriving, one killed with SIGKILL mid-run:
 *                realtime wait, and how long until the allocation is in full use again
 *                (scenarios/crash.ts).
 *  lend          the realtime reserve lent to batch (scenarios/lend.ts).
 *  payer-outage  one payer down answering AAA 42 after ~6 s (scenarios/payer-outage.ts).
 *  slow-payer    one payer answering after ~8 s (scenarios/slow-payer.ts).
 *  tenants       a small tenant's run behind a big one's (scenarios/tenants.ts).
 *  dynamo-outage DynamoDB paused for 20 s mid-run (scenarios/faults.ts).
 *  rollout       every worker replaced with a 1 s grace period during 6 s calls (scenarios/faults.ts).
 *  batch-route   a 2,000-check run routed to Stedi's Batch Eligibility API beside the front desk
 *                (scenarios/batch-route.ts).
 *  redis-outage  Redis stopped 15 s under retrying clients (scenarios/redis-outage.ts).
 *  repeats       600 checks, 30% repeating earlier ones, with the answer cache off and on
 *                (scenarios/repeats.ts).
 */
import { startChildDynalite } from '../../src/shared/local/dynalite-server.js';
import { startLocalRedis } from '../../src/shared/local/redis-server.js';
import { seededRandom } from '../../src/shared/random.js';
import type { CheckJob } from '../../src/shared/check-queues.js';
import { percentile, utilization } from '../support/holds.js';
import { startStack, type Stack, type StackOptions } from './stack.js';
import { checkRequest } from './requests.js';
import { round, tally, waitAll, waitBacklogStarted, type Figures } from './checks.js';
import { crashScenario } from './scenarios/crash.js';
import { lendScenario } from './scenarios/lend.js';
import { payerOutageScenario } from './scenarios/payer-outage.js';
import { slowPayerScenario } from './scenarios/slow-payer.js';
import { tenantsScenario } from './scenarios/tenants.js';
import { dynamoOutageScenario, rolloutScenario } from './scenarios/faults.js';
import { batchRouteScenario } from './scenarios/batch-route.js';
import { redisOutageScenario } from './scenarios/redis-outage.js';
import { repeatsScenario } from './scenarios/repeats.js';

const args = new Set(process.argv.slice(2));
const json = args.has('--json');
const quick = args.has('--quick');
const L = 15;
const BACKLOG = (quick ? 10 : 40) * L;

const redis = await startLocalRedis();
const dynamo = await startChildDynalite();
const results: Record<string, Record<string, number | string>> = {};

const argv = process.argv.slice(2);
const scenarioAt = argv.indexOf('--scenario');
const only =
  (scenarioAt >= 0 ? argv[scenarioAt + 1] : undefined) ??
  argv.find((a) => a.startsWith('--only=') || a.startsWith('--scenario='))?.split('=')[1];
const keyed: Record<string, () => Promise<Record<string, Figures>>> = {
  lend: () => lendScenario({ redis, dynamo }),
  'payer-outage': () => payerOutageScenario({ redis, dynamo }),
  'slow-payer': () => slowPayerScenario({ redis, dynamo }),
  tenants: () => tenantsScenario({ redis, dynamo }),
  'dynamo-outage': () => dynamoOutageScenario({ redis, dynamo }),
  rollout: () => rolloutScenario({ redis, dynamo }),
  'batch-route': () => batchRouteScenario({ redis, dynamo }),
  'redis-outage': () => redisOutageScenario({ redis, dynamo }),
  repeats: () => repeatsScenario({ redis, dynamo }),
};
const known = ['saturation', 'mixed', 'crash', ...Object.keys(keyed)];
if (only !== undefined && !known.includes(only)) {
  await Promise.allSettled([redis.stop(), dynamo.stop()]);
  console.error(`unknown scenario "${only}": use one of ${known.join(', ')}`);
  process.exit(2);
}
try {
  if (!only || only === 'saturation') {
    results.saturation = await saturation();
    print('saturation', results.saturation);
  }
  if (!only || only === 'mixed') {
    results.mixed = await mixed();
    print('mixed', results.mixed);
  }
  if (args.has('--crash') || only === 'crash') {
    results.crash = await crashScenario({ redis, dynamo }, 3 * BACKLOG);
    print('crash', results.crash);
  }
  const run = only ? keyed[only] : undefined;
  if (run) {
    for (const [name, figures] of Object.entries(await run())) {
      results[name] = figures;
      printFigures(name, figures);
    }
  }
} finally {
  await Promise.allSettled([redis.stop(), dynamo.stop()]);
}
if (json) process.stdout.write(JSON.stringify({ L, backlog: BACKLOG, results }, null, 2) + '\n');

async function saturation(): Promise<Record<string, number | string>> {
  const stack = await startStack(opts('saturation', { reserved: 0, workers: 4 }), {
    redis,
    dynamo,
  });
  try {
    const t0 = Date.now();
    stack.simulator.resetStats();
    const jobs = await enqueueBacklog(stack, BACKLOG);
    const backlogEnd = await waitBacklogStarted(stack);
    const sim = stack.simulator.stats();
    await waitAll(jobs);
    const outcome = await tally(stack, jobs);
    return {
      workers: 4,
      reserved: 0,
      checks: jobs.length,
      utilizationAtSimulator: round(sim.busySlotMs / (L * sim.elapsedMs)),
      backlogSeconds: round((backlogEnd - t0) / 1000),
      batchChecksPerSecond: round(jobs.length / ((outcome.lastFinish - t0) / 1000)),
      maxInFlight: stack.simulator.stats().maxInFlight,
      rejected429: stack.simulator.stats().rejected429,
      lostChecks: outcome.lost,
      dynamoRequestsPerCheck: round((await stack.dynamoRequests()) / jobs.length),
    };
  } finally {
    await stack.stop();
  }
}

async function mixed(): Promise<Record<string, number | string>> {
  const R = 5;
  const stack = await startStack(opts('mixed', { reserved: R, workers: 4 }), { redis, dynamo });
  try {
    const t0 = Date.now();
    stack.simulator.resetStats();
    const batch = await enqueueBacklog(stack, BACKLOG);
    const realtime: CheckJob[] = [];
    const random = seededRandom(11);
    let backlogOpen = true;
    const arrivals = (async () => {
      // Realtime checks arrive as a Poisson process, about 1.5 a second (about 1.4 calls in flight,
      // well inside the reserve of 5), while batch work waits.
      let i = 0;
      while (backlogOpen) {
        await new Promise((r) => setTimeout(r, -Math.log(1 - random()) * 667));
        realtime.push(await stack.queues.add('realtime', checkRequest(`RT${i++}`)));
      }
    })();
    const backlogEnd = await waitBacklogStarted(stack);
    backlogOpen = false;
    await arrivals;
    const sim = stack.simulator.stats();
    await waitAll([...batch, ...realtime]);
    const outcome = await tally(stack, [...batch, ...realtime]);
    const waits = outcome.waits.realtime;
    const batchHolds = outcome.holds.batch;
    return {
      workers: 4,
      reserved: R,
      batchChecks: batch.length,
      realtimeChecks: realtime.length,
      realtimeWaitP50Ms: round(percentile(waits, 50)),
      realtimeWaitP99Ms: round(percentile(waits, 99)),
      realtimeWaitMaxMs: round(Math.max(...waits)),
      batchShareOfAllocation: round(utilization(batchHolds, L, t0, backlogEnd)),
      allocationUtilizationAtSimulator: round(sim.busySlotMs / (L * sim.elapsedMs)),
      batchChecksPerSecond: round(batch.length / ((outcome.lastFinish - t0) / 1000)),
      maxInFlight: stack.simulator.stats().maxInFlight,
      rejected429: stack.simulator.stats().rejected429,
      lostChecks: outcome.lost,
      dynamoRequestsPerCheck: round(
        (await stack.dynamoRequests()) / (batch.length + realtime.length),
      ),
    };
  } finally {
    await stack.stop();
  }
}

function opts(
  name: string,
  o: Partial<StackOptions> & { reserved: number; workers: number },
): StackOptions {
  return {
    allocation: L,
    latencyMedianMs: 800,
    latencySigma: 0.5,
    stediTimeoutMs: 90_000,
    name: `${name}-${Date.now()}`,
    ...o,
  };
}

async function enqueueBacklog(stack: Stack, n: number): Promise<CheckJob[]> {
  const jobs: CheckJob[] = [];
  for (let i = 0; i < n; i += 500) {
    const size = Math.min(500, n - i);
    jobs.push(
      ...(await stack.queues.addBulk(
        'batch',
        Array.from({ length: size }, (_, k) => checkRequest(`B${i + k}`)),
      )),
    );
  }
  return jobs;
}

function printFigures(name: string, figures: Figures): void {
  if (json) return;
  console.log(`\n${name}:`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(34)} ${v}`);
}

function print(name: string, figures: Record<string, number | string>): void {
  if (json) return;
  console.log(
    `\n${name}: L=${L}, backlog ${name === 'crash' ? 3 * BACKLOG : BACKLOG} batch checks, simulator latency lognormal median 800 ms sigma 0.5`,
  );
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(34)} ${v}`);
}
