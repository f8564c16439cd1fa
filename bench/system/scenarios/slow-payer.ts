/**
 * `--scenario slow-payer`: L = 15, R = 5, 4 workers; 10% of 600 batch checks go to payer SLOW,
 * whose calls take ~8 s, the rest to a payer answering in ~300 ms. The slow payer's in-flight
 * calls are sampled at the simulator while the others' checks wait; the others' rate is compared
 * with a run of their checks alone.
 */
import { capSlots } from '../../../src/shared/scheduling/limits.js';
import { enqueueBatch, round, sampleSimulator, tally, waitAll, type Figures } from '../checks.js';
import { mixedPayers } from '../requests.js';
import { inKeyedStack, L, shareOf, type Infra } from './keyed-stack.js';

const CHECKS = 600;
const SLOW = 'SLOW';

/** Runs the slow payer beside the others, and the others alone. */
export async function slowPayerScenario(infra: Infra): Promise<Record<string, Figures>> {
  const alone = await run(infra, false);
  const mixed = await run(infra, true);
  return {
    'slow-payer': {
      ...mixed,
      othersRateAlone: alone.othersChecksPerSecond ?? 0,
      othersShareOfRateAlone: shareOf(mixed, alone, 'othersChecksPerSecond'),
    },
  };
}

function run(infra: Infra, withSlow: boolean): Promise<Figures> {
  const payers = { [SLOW]: { latency: { medianMs: 8_000, sigma: 0.2 } } };
  return inKeyedStack(infra, `slow-${withSlow}`, { payers }, async (stack) => {
    const sampler = sampleSimulator(stack);
    const t0 = Date.now();
    const requests = mixedPayers(CHECKS, 10, SLOW).filter(
      (r) => withSlow || r.tradingPartnerServiceId !== SLOW,
    );
    const jobs = await enqueueBatch(stack, requests);
    const isSlow = (i: number) => requests[i]?.tradingPartnerServiceId === SLOW;
    const others = jobs.filter((_, i) => !isSlow(i));
    const slow = jobs.filter((_, i) => isSlow(i));
    await waitAll(others);
    const o = await tally(stack, others);
    const lastOtherStart = Math.max(...o.records.map((r) => r.callStartedAt ?? 0));
    await waitAll(slow, 600_000);
    const samples = sampler.stop();
    const s = await tally(stack, slow);
    const whileOthersWait = samples.filter((x) => x.at <= lastOtherStart);
    const slowInFlight = whileOthersWait.map((x) => x.stats.byPayer[SLOW]?.inFlight ?? 0);
    const stats = stack.simulator.stats();
    return {
      slowPayerChecks: slow.length,
      othersChecks: others.length,
      slowCap: capSlots('50%', L),
      slowMaxInFlightWhileOthersWait: Math.max(0, ...slowInFlight),
      slowMeanInFlightWhileOthersWait: round(
        slowInFlight.reduce((a, b) => a + b, 0) / Math.max(1, slowInFlight.length),
      ),
      othersChecksPerSecond: round(others.length / ((o.lastFinish - t0) / 1000)),
      slowSecondsToFinish: slow.length ? round((s.lastFinish - t0) / 1000) : '-',
      maxInFlight: stats.maxInFlight,
      rejected429: stats.rejected429,
      lostChecks: o.lost + s.lost,
    };
  });
}
