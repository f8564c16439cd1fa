/**
 * `--scenario batch-route`: L = 15, R = 5, 4 workers, ~300 ms real-time calls. A 2,000-check run
 * is submitted over the REST API routed to Stedi's Batch Eligibility API (two POSTs of 1,000, one
 * chunk each) while front-desk checks arrive (Poisson, 1.5 a second) through the real-time path.
 * Figures: the routed run's time to its last readable result, every result read back through
 * GET /v1/eligibility/:id (with its summary), the front desk's slot wait, and what the simulator
 * saw: real-time calls only from the front desk (the route took no slot) and the batch pipeline's
 * own counts.
 */
import { loadConfig } from '../../../src/shared/config.js';
import { createLogger } from '../../../src/shared/logger.js';
import { seededRandom } from '../../../src/shared/random.js';
import type { CheckJob } from '../../../src/shared/check-queues.js';
import { startProducer } from '../../../src/producer/producer-server.js';
import { percentile } from '../../support/holds.js';
import { poissonArrivals, round, sleep, tally, waitAll, type Figures } from '../checks.js';
import { checkRequest } from '../requests.js';
import type { Stack } from '../stack.js';
import { inKeyedStack, type Infra } from './keyed-stack.js';

const CHECKS = 2_000;
const headers = { authorization: 'Bearer local-dev-key', 'content-type': 'application/json' };

/** Runs the routed run beside the front desk. */
export async function batchRouteScenario(infra: Infra): Promise<Record<string, Figures>> {
  const figures = await inKeyedStack(
    infra,
    'batch-route',
    {
      env: {
        STEDI_BATCH_POLL_MS: '1000',
        STEDI_BATCH_POLL_MAX_MS: '5000',
        STEDI_BATCH_CHUNK_SIZE: '1000',
      },
      // Stedi's pipeline, scaled down: 40 items at once, ~800 ms each.
      batchApi: { concurrency: 40, latencyMedianMs: 800, retryMs: 60_000, submitMs: 200 },
    },
    async (stack) => {
      const producer = await startProducer(
        // The bench reads 2,000 results back at once: no per-key rate limit in the way.
        loadConfig({
          ...stack.env,
          PORT: '0',
          LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_SECOND: '100000',
          RATE_LIMIT_BURST: '100000',
        }),
        createLogger({ level: 'warn', name: 'bench-producer' }),
      );
      try {
        return await run(stack, producer.url);
      } finally {
        await producer.close();
      }
    },
  );
  return { 'batch-route': figures };
}

async function run(stack: Stack, api: string): Promise<Figures> {
  const t0 = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < CHECKS; i += 1_000) {
    const items = Array.from({ length: 1_000 }, (_, j) => checkRequest(`R${i + j}`));
    const res = await fetch(`${api}/v1/eligibility/batch`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ items, route: 'stedi-batch' }),
    });
    if (res.status !== 202) throw new Error(`routed submission answered ${res.status}`);
    ids.push(...((await res.json()) as { checks: { id: string }[] }).checks.map((c) => c.id));
  }
  const realtime: CheckJob[] = [];
  let open = true;
  const arrivals = poissonArrivals(
    1.5,
    seededRandom(5),
    () => open,
    async (i) => {
      realtime.push(await stack.queues.add('realtime', checkRequest(`FD${i}`)));
    },
  );
  // Until every routed check has finished (read from the queue: cheap beside the front desk).
  for (;;) {
    const c = await stack.queues.stediBatch.checks.getJobCounts('completed', 'failed');
    if ((c.completed ?? 0) + (c.failed ?? 0) >= ids.length || Date.now() - t0 > 600_000) break;
    await sleep(500);
  }
  const routedSeconds = round((Date.now() - t0) / 1000);
  open = false;
  await arrivals;
  await waitAll(realtime);
  const rt = await tally(stack, realtime);
  const waits = rt.waits.realtime;
  const sim = stack.simulator.stats();
  const batch = stack.simulator.batchStats();
  // Every result read back through the API, as a client would.
  const views: { status: string; summary?: unknown }[] = [];
  for (let i = 0; i < ids.length; i += 50)
    views.push(
      ...(await Promise.all(
        ids.slice(i, i + 50).map(
          async (id) =>
            (await (await fetch(`${api}/v1/eligibility/${id}`, { headers })).json()) as {
              status: string;
              summary?: unknown;
            },
        ),
      )),
    );
  return {
    routedChecks: ids.length,
    routedSeconds,
    resultsReadable: views.filter((v) => v.status === 'completed' && v.summary).length,
    routedFailed: views.filter((v) => v.status === 'failed').length,
    stediBatches: batch.batchesCreated,
    batchSubmitRequests: batch.submitRequests,
    batchPipelineMaxInFlight: batch.maxInFlight,
    realtimeChecks: realtime.length,
    realtimeCallsAtSimulator: sim.requests,
    realtimeSlotsUsedByRoute: sim.requests - realtime.length,
    realtimeWaitP50Ms: waits.length ? round(percentile(waits, 50)) : '-',
    realtimeWaitP99Ms: waits.length ? round(percentile(waits, 99)) : '-',
    realtimeWaitMaxMs: waits.length ? Math.max(...waits) : '-',
    maxInFlight: sim.maxInFlight,
    rejected429: sim.rejected429,
    lostChecks:
      rt.lost + views.filter((v) => v.status !== 'completed' && v.status !== 'failed').length,
  };
}
