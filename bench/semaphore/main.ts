/**
 * `npm run bench:semaphore [-- --json] [--quick] [--scale] [--workload=150] [--variants=lease,ideal]`:
 * several processes contend for L = 15 slots with lognormal hold times and a backlog of 40 x L
 * acquisitions, for this semaphore, the reference
 * polling semaphore (two backoff settings) and an in-process ideal. Prints, per workload and
 * variant: backlog utilization, hand-off gap p50/p99, DynamoDB requests per acquisition and the
 * most holders seen at once. `--scale`: L = 200 over 10 processes of 30 lanes, every store request
 * delayed ~5 ms (jittered) as DynamoDB in-region; this semaphore and the ideal only.
 */
import { Redis } from 'ioredis';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import { startChildDynalite } from '../../src/shared/local/dynalite-server.js';
import { startLocalRedis } from '../../src/shared/local/redis-server.js';
import { ensureSemaphoreTable } from '../../src/shared/semaphore/index.js';
import { PollingSemaphore } from './polling-semaphore.js';
import { startStoreServer } from '../support/store-server.js';
import {
  handOffGaps,
  maxConcurrent,
  percentile,
  timeToReach,
  utilization,
  type Hold,
} from '../support/holds.js';
import { spawnBenchChild } from '../support/processes.js';

const argv = process.argv.slice(2);
const args = new Set(argv);
// --workload=150 and --variants=lease,ideal run a part of the matrix (investigation, reruns).
const option = (name: string): string[] | undefined =>
  argv
    .find((a) => a.startsWith(`--${name}=`))
    ?.slice(name.length + 3)
    .split(',');
const json = args.has('--json');
const quick = args.has('--quick');
// --scale: a large account over many processes, each store request delayed like DynamoDB
// in-region (~5 ms), where every extra round trip and every full read shows.
const scale = args.has('--scale');
const L = scale ? 200 : 15;
const PROCESSES = scale ? 10 : 3;
const LANES = scale ? 30 : L;
const BACKLOG = (quick ? 10 : scale ? 25 : 40) * L;
const STORE_LATENCY_MS = scale ? 5 : 0;
const SIGMA = 0.7;
const workloads = (option('workload') ?? ['150', '800']).map(Number);

interface Variant {
  readonly id: string;
  readonly label: string;
  readonly processes: number;
  readonly env: Record<string, string>;
}
const allVariants: Variant[] = [
  { id: 'lease', label: 'lease semaphore (this)', processes: PROCESSES, env: { VARIANT: 'lease' } },
  {
    id: 'lease-no-handover',
    label: 'lease, hand-over off',
    processes: PROCESSES,
    env: { VARIANT: 'lease', HANDOVER: 'false' },
  },
  {
    id: 'polling-500-10000',
    label: 'polling 500ms/10s (ref)',
    processes: PROCESSES,
    env: { VARIANT: 'polling', BASE_MS: '500', MAX_MS: '10000' },
  },
  {
    id: 'polling-100-1000',
    label: 'polling 100ms/1s',
    processes: PROCESSES,
    env: { VARIANT: 'polling', BASE_MS: '100', MAX_MS: '1000' },
  },
  { id: 'ideal', label: 'in-process ideal', processes: 1, env: { VARIANT: 'ideal' } },
];
// At scale the polling references and hand-over off say nothing new and take minutes each. The
// store-server variant stands in for DynamoDB's throughput, which dynalite (~200 writes/s here)
// does not have: the same conditions, served from memory, with the same added latency.
const matrix = scale
  ? [
      allVariants[0],
      {
        id: 'lease-store-server',
        label: 'lease, in-memory store',
        processes: PROCESSES,
        env: { VARIANT: 'lease', STORE_SERVER: '1' },
      },
      allVariants.at(-1),
    ].filter((v): v is Variant => v !== undefined)
  : allVariants;
const chosen = option('variants');
const variants = chosen ? matrix.filter((v) => chosen.includes(v.id)) : matrix;

/** Figures of one run. */
interface Figures {
  workloadMedianMs: number;
  variant: string;
  acquisitions: number;
  backlogUtilization: number;
  handOffGapP50Ms: number;
  handOffGapP99Ms: number;
  dynamoRequestsPerAcquisition: number;
  /** Store writes (claims, renewals, releases) per second of the run, all processes. */
  writesPerSecond: number;
  /** Full reads of the slots (strongly consistent Query) per second, all processes. */
  readsPerSecond: number;
  maxConcurrentHolders: number;
  /** From the start signal until all L slots were first held at once. */
  fillMs: number;
  /** Utilization from the first moment all L slots were held until the last grant. */
  utilizationAfterFill: number;
  seconds: number;
}

const redisServer = await startLocalRedis();
const storeServer = scale ? await startStoreServer() : undefined;
const dynamo = await startChildDynalite();
const redis = new Redis(redisServer.url);
const client = createDynamoClient({ endpoint: dynamo.endpoint, region: 'us-east-1' });
const results: Figures[] = [];
let runNo = 0;

/** One run of `variant` on a fresh table: its contenders, then its figures. */
async function runOnce(median: number, variant: Variant, backlog: number): Promise<Figures> {
  runNo++;
  const table = `bench-${runNo}`;
  const name = `acct-${runNo}`;
  await ensureSemaphoreTable(client, table);
  if (variant.env.VARIANT === 'polling') {
    await new PollingSemaphore(client, table, name, L, { baseMs: 1, maxMs: 1 }).seed();
  }
  const tokensKey = `bench:${runNo}:tokens`;
  const goKey = `bench:${runNo}:go`;
  await redis.set(tokensKey, backlog);
  const lanes = variant.processes === 1 ? LANES * PROCESSES : LANES;
  const children = Array.from({ length: variant.processes }, (_, i) =>
    spawnBenchChild(new URL('./contender.ts', import.meta.url), {
      ...variant.env,
      REDIS_URL: redisServer.url,
      DYNAMO_ENDPOINT: dynamo.endpoint,
      TABLE: table,
      NAME: name,
      L: String(L),
      LANES: String(lanes),
      MEDIAN_MS: String(median),
      SIGMA: String(SIGMA),
      SEED: String(1000 * median + i),
      TOKENS_KEY: tokensKey,
      GO_KEY: goKey,
      STORE_LATENCY_MS: String(STORE_LATENCY_MS),
      ...(variant.env.STORE_SERVER && storeServer ? { STORE_URL: storeServer.url } : {}),
    }),
  );
  await Promise.all(children.map((c) => c.line((l) => l === 'ready')));
  const start = performance.timeOrigin + performance.now();
  await redis.set(goKey, '1');
  const outputs = await Promise.all(children.map((c) => c.line((l) => l.startsWith('{'))));
  const codes = await Promise.all(children.map((c) => c.exited));
  if (codes.some((c) => c !== 0))
    throw new Error(`${variant.id}: a contender exited with ${codes.join(',')}`);
  const parsed = outputs.map(
    (o) =>
      JSON.parse(o) as { holds: Hold[]; dynamoRequests: number; writes: number; reads: number },
  );
  const holds = parsed.flatMap((p) => p.holds);
  const fillMs = timeToReach(holds, L, start);
  const lastGrant = Math.max(...holds.map((h) => h.grantedAt));
  const end = Math.max(...holds.map((h) => h.releasedAt));
  const gaps = handOffGaps(holds);
  const figures: Figures = {
    workloadMedianMs: median,
    variant: variant.id,
    acquisitions: holds.length,
    backlogUtilization: utilization(holds, L, start, lastGrant),
    handOffGapP50Ms: percentile(gaps, 50),
    handOffGapP99Ms: percentile(gaps, 99),
    dynamoRequestsPerAcquisition: parsed.reduce((s, p) => s + p.dynamoRequests, 0) / holds.length,
    writesPerSecond: parsed.reduce((s, p) => s + p.writes, 0) / ((end - start) / 1000),
    readsPerSecond: parsed.reduce((s, p) => s + p.reads, 0) / ((end - start) / 1000),
    maxConcurrentHolders: maxConcurrent(holds),
    fillMs,
    utilizationAfterFill: utilization(holds, L, start + fillMs, lastGrant),
    seconds: (end - start) / 1000,
  };
  return figures;
}

try {
  // Not reported: the first writes a fresh dynalite serves take 150-350 ms each (its code paths
  // are cold), which made the first variant's fill (lease at 150 ms) 0.2-0.6 s instead of the
  // ~0.1 s of every later run. A DynamoDB table or a worker that has run for a while has no such
  // start.
  const lease = variants.find((v) => v.env.VARIANT === 'lease');
  if (lease) await runOnce(workloads[0] ?? 150, lease, 4 * L);
  for (const median of workloads) {
    for (const variant of variants) {
      const figures = await runOnce(median, variant, BACKLOG);
      results.push(figures);
      if (!json) printRow(variant.label, figures);
    }
  }
} finally {
  redis.disconnect();
  client.destroy();
  await Promise.allSettled([redisServer.stop(), dynamo.stop(), storeServer?.close()]);
}

if (json) {
  process.stdout.write(
    JSON.stringify(
      {
        L,
        processes: PROCESSES,
        lanes: LANES,
        backlog: BACKLOG,
        sigma: SIGMA,
        storeLatencyMs: STORE_LATENCY_MS,
        results,
      },
      null,
      2,
    ) + '\n',
  );
}

function printRow(label: string, f: Figures): void {
  if (f === results[0] || results.at(-2)?.workloadMedianMs !== f.workloadMedianMs) {
    console.log(
      `\nworkload: lognormal median ${f.workloadMedianMs} ms, sigma ${SIGMA}; L=${L}; ${PROCESSES} processes x ${LANES} lanes; backlog ${BACKLOG}; store latency ${STORE_LATENCY_MS} ms`,
    );
    console.log(
      'variant                     util   gap p50   gap p99  ddb req/acq  writes/s  reads/s  max holders  fill ms  util after fill  acquisitions  seconds',
    );
  }
  console.log(
    `${label.padEnd(26)} ${f.backlogUtilization.toFixed(3).padStart(5)} ${fmt(f.handOffGapP50Ms)} ${fmt(f.handOffGapP99Ms)} ` +
      `${f.dynamoRequestsPerAcquisition.toFixed(2).padStart(12)} ${f.writesPerSecond.toFixed(0).padStart(9)} ${f.readsPerSecond.toFixed(1).padStart(8)} ` +
      `${String(f.maxConcurrentHolders).padStart(12)} ${f.fillMs.toFixed(0).padStart(8)} ` +
      `${f.utilizationAfterFill.toFixed(3).padStart(16)} ` +
      `${String(f.acquisitions).padStart(13)} ${f.seconds.toFixed(1).padStart(8)}`,
  );
}

function fmt(ms: number): string {
  return `${ms.toFixed(1)}ms`.padStart(9);
}
