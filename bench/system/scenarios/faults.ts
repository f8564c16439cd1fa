/**
 * `--scenario dynamo-outage`: L = 15, R = 0, 3 workers, ~300 ms calls, 900 batch checks; the
 * stack's own dynalite is paused (SIGSTOP: every request hangs) for 20 s mid-run. Prints calls
 * started while paused, how long after its return the allocation is full again, 429s and the most
 * calls in flight, and attempts spent per check.
 *
 * `--scenario rollout`: L = 4, R = 0, 4 workers, calls ~6 s with Stedi's bound at 8 s, 40 batch
 * checks; every worker is replaced one by one, each stopped with WORKER_SHUTDOWN_TIMEOUT_MS = 1 s
 * (shorter than its calls), as a rolling deploy with a short grace period does. Prints 429s, the
 * most calls in flight at the simulator, and checks lost.
 */
import { startChildDynalite } from '../../../src/shared/local/dynalite-server.js';
import { stopChild } from '../../support/processes.js';
import { enqueueBatch, round, sleep, tally, waitAll, type Figures } from '../checks.js';
import { checkRequest } from '../requests.js';
import { startStack } from '../stack.js';
import type { Infra } from './keyed-stack.js';

/** DynamoDB paused for 20 s during a backlog. */
export async function dynamoOutageScenario(infra: Infra): Promise<Record<string, Figures>> {
  const L = 15;
  const dynamo = await startChildDynalite();
  const stack = await startStack(
    {
      allocation: L,
      reserved: 0,
      workers: 3,
      latencyMedianMs: 300,
      latencySigma: 0.3,
      stediTimeoutMs: 90_000,
      name: `dynamo-outage-${Date.now()}`,
    },
    { redis: infra.redis, dynamo },
  );
  try {
    stack.simulator.resetStats();
    const jobs = await enqueueBatch(
      stack,
      Array.from({ length: 900 }, (_, i) => checkRequest(`DDB${i}`)),
    );
    while (stack.simulator.stats().requests < 100) await sleep(20);
    const before = stack.simulator.stats().requests;
    process.kill(dynamo.pid ?? -1, 'SIGSTOP');
    await sleep(20_000);
    const startedWhilePaused = stack.simulator.stats().requests - before;
    process.kill(dynamo.pid ?? -1, 'SIGCONT');
    const back = Date.now();
    let fullAfterMs = -1;
    while (Date.now() - back < 30_000) {
      if (stack.simulator.stats().inFlight >= L) {
        fullAfterMs = Date.now() - back;
        break;
      }
      await sleep(10);
    }
    await waitAll(jobs, 300_000);
    const t = await tally(stack, jobs);
    const stats = stack.simulator.stats();
    return {
      'dynamo-outage': {
        checks: jobs.length,
        pausedSeconds: 20,
        callsStartedWhilePaused: startedWhilePaused,
        fullAllocationAfterReturnMs: fullAfterMs,
        rejected429: stats.rejected429,
        maxInFlight: stats.maxInFlight,
        lost: t.lost,
        failed: t.failed,
        attemptsPerCheck: round(t.records.reduce((s, r) => s + r.attemptsMade, 0) / jobs.length),
      },
    };
  } finally {
    await stack.stop();
    await dynamo.stop();
  }
}

/** Every worker replaced, each with a 1 s grace period, during ~6 s calls. */
export async function rolloutScenario(infra: Infra): Promise<Record<string, Figures>> {
  const L = 4;
  const stack = await startStack(
    {
      allocation: L,
      reserved: 0,
      workers: 4,
      latencyMedianMs: 6_000,
      latencySigma: 0.1,
      stediTimeoutMs: 8_000,
      name: `rollout-${Date.now()}`,
      env: { WORKER_SHUTDOWN_TIMEOUT_MS: '1000' },
    },
    infra,
  );
  try {
    stack.simulator.resetStats();
    const jobs = await enqueueBatch(
      stack,
      Array.from({ length: 40 }, (_, i) => checkRequest(`ROLL${i}`)),
    );
    while (stack.simulator.stats().inFlight < L) await sleep(20);
    const old = [...stack.workers];
    for (const w of old) {
      await sleep(1_500);
      await stopChild(w.process);
      await stack.spawnWorker();
    }
    await waitAll(jobs, 300_000);
    const t = await tally(stack, jobs);
    const stats = stack.simulator.stats();
    return {
      rollout: {
        checks: jobs.length,
        workersReplaced: old.length,
        graceMs: 1_000,
        callMedianMs: 6_000,
        rejected429: stats.rejected429,
        maxInFlight: stats.maxInFlight,
        lost: t.lost,
        failed: t.failed,
      },
    };
  } finally {
    await stack.stop();
  }
}
