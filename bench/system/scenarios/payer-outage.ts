/**
 * `--scenario payer-outage`: L = 15, R = 5, 4 workers, ~300 ms calls; 10% of 600 batch checks go
 * to payer DOWN, which holds each call ~6 s and answers AAA 42 for the first 40 s of the
 * simulator's life, then recovers. Run once with the outage and once without it (DOWN answering
 * like the others) to compare the healthy payer's rate. The bench shortens the breaker cool-down
 * to 10 s and the batch retry backoff to 2 s so the run ends within a few minutes.
 */
import {
  enqueueBatch,
  round,
  sampleAt,
  sampleSimulator,
  tally,
  waitAll,
  type Figures,
} from '../checks.js';
import { mixedPayers } from '../requests.js';
import { inKeyedStack, shareOf, type Infra } from './keyed-stack.js';

const CHECKS = 600;
const DOWN = 'DOWN';

/** Runs the outage and its baseline. */
export async function payerOutageScenario(infra: Infra): Promise<Record<string, Figures>> {
  const baseline = await run(infra, false);
  const outage = await run(infra, true);
  return {
    'payer-outage': {
      ...outage,
      healthyRateWithoutOutage: baseline.healthyChecksPerSecond ?? 0,
      healthyShareOfRateWithoutOutage: shareOf(outage, baseline, 'healthyChecksPerSecond'),
    },
  };
}

function run(infra: Infra, down: boolean): Promise<Figures> {
  const payers = {
    [DOWN]: down
      ? { outage: { aaa: '42' as const, afterMs: 6_000, fromMs: 0, untilMs: 40_000 } }
      : { latency: { medianMs: 300, sigma: 0.3 } },
  };
  const env = { CIRCUIT_COOLDOWN_MS: '10000', BATCH_BACKOFF_MS: '2000' };
  return inKeyedStack(infra, `outage-${down}`, { payers, env }, async (stack) => {
    const sampler = sampleSimulator(stack);
    const t0 = Date.now();
    const requests = mixedPayers(CHECKS, 10, DOWN);
    const jobs = await enqueueBatch(stack, requests);
    const isDown = (i: number) => requests[i]?.tradingPartnerServiceId === DOWN;
    const healthy = jobs.filter((_, i) => !isDown(i));
    const downJobs = jobs.filter((_, i) => isDown(i));
    await waitAll(healthy);
    const h = await tally(stack, healthy);
    const lastHealthyStart = Math.max(...h.records.map((r) => r.callStartedAt ?? 0));
    await waitAll(downJobs, 300_000);
    const samples = sampler.stop();
    const d = await tally(stack, downJobs);
    const at = sampleAt(samples, lastHealthyStart).stats;
    const downBusy = at.byPayer[DOWN]?.busySlotMs ?? 0;
    const stats = stack.simulator.stats();
    const reasons = [
      ...new Set(d.records.filter((r) => r.state === 'failed').map((r) => r.failedReason)),
    ];
    return {
      outage: down ? 'AAA 42 after ~6 s, first 40 s' : 'none',
      checks: CHECKS,
      healthyChecksPerSecond: round(healthy.length / ((h.lastFinish - t0) / 1000)),
      downShareOfBusyWhileHealthyWaits: round(downBusy / Math.max(1, at.busySlotMs)),
      downMaxInFlightWhileHealthyWaits: Math.max(
        0,
        ...samples
          .filter((x) => x.at <= lastHealthyStart)
          .map((x) => x.stats.byPayer[DOWN]?.inFlight ?? 0),
      ),
      downCompleted: d.records.filter((r) => r.state === 'completed').length,
      downFailed: d.failed,
      downFailedReasons: reasons.length ? reasons.join('; ') : '-',
      downCallsAtSimulator: stats.byPayer[DOWN]?.finished ?? 0,
      downAttemptsSpent: d.records.reduce((sum, r) => sum + r.attemptsMade, 0),
      parkedWhileBreakerOpen: await stack.sumMetric('eq_checks_parked_total', 'breaker-open'),
      maxInFlight: stats.maxInFlight,
      rejected429: stats.rejected429,
      lostChecks: h.lost + d.lost,
    };
  });
}
