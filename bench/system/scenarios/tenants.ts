/**
 * `--scenario tenants`: L = 15, R = 5, 4 workers, ~300 ms calls. Tenant A submits 1,200 batch
 * checks; a second later tenant B submits 60. How soon B's run is done, and A's throughput
 * against a run of A alone.
 */
import { enqueueBatch, round, sleep, tally, waitAll, type Figures } from '../checks.js';
import { checkRequest } from '../requests.js';
import { inKeyedStack, shareOf, type Infra } from './keyed-stack.js';

/** Runs A with B, and A alone. */
export async function tenantsScenario(infra: Infra): Promise<Record<string, Figures>> {
  const alone = await run(infra, false);
  const both = await run(infra, true);
  return {
    tenants: {
      ...both,
      aChecksPerSecondAlone: alone.aChecksPerSecond ?? 0,
      aThroughputVsAlone: shareOf(both, alone, 'aChecksPerSecond'),
    },
  };
}

function run(infra: Infra, withB: boolean): Promise<Figures> {
  return inKeyedStack(infra, `tenants-${withB}`, {}, async (stack) => {
    const t0 = Date.now();
    const a = await enqueueBatch(
      stack,
      Array.from({ length: 1_200 }, (_, i) => checkRequest(`A${i}`)),
      'tenant-a',
    );
    await sleep(1_000);
    const bAt = Date.now();
    const b = withB
      ? await enqueueBatch(
          stack,
          Array.from({ length: 60 }, (_, i) => checkRequest(`B${i}`)),
          'tenant-b',
        )
      : [];
    await waitAll([...a, ...b]);
    const ta = await tally(stack, a);
    const tb = await tally(stack, b);
    const bStarts = tb.records.map((r) => r.callStartedAt ?? Infinity);
    const stats = stack.simulator.stats();
    return {
      aChecks: a.length,
      bChecks: b.length,
      bFirstStartSeconds: b.length ? round((Math.min(...bStarts) - bAt) / 1000) : '-',
      bDoneSeconds: b.length ? round((tb.lastFinish - bAt) / 1000) : '-',
      aChecksPerSecond: round(a.length / ((ta.lastFinish - t0) / 1000)),
      maxInFlight: stats.maxInFlight,
      rejected429: stats.rejected429,
      lostChecks: ta.lost + tb.lost,
    };
  });
}
