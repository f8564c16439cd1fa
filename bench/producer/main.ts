/**
 * `npm run bench:producer [-- --processes=N] [--rounds=R] [--json]`: the REST API against raw
 * BullMQ on the same Redis. Two producers run as their own processes, as in production: one with
 * PRODUCER_PROCESSES=1 and one with N (default 2). The phases alternate over R rounds so that
 * noise on a shared machine hits both sides alike; the figures are medians over the rounds.
 *  per round:
 *   1. raw queue.add, closed loop of 16 concurrent adders in this process      -> rate
 *   2. POST /v1/eligibility to the 1-process producer, 64 connections (wrk)    -> rate, p50/p99
 *   3. the same to the N-process producer                                      -> rate, p50/p99
 *  then:
 *   4. POST to the N-process producer at a set rate, half the raw add rate     -> rate, p50/p99
 *   5. raw addBulk of 500 vs POST /v1/eligibility/batch of 500, alternating R rounds -> checks/s
 * wrk and h2load (nghttp2) are C load generators from Debian: a Node client would be the
 * bottleneck, not the producer. h2load holds a rate (`--rps` per connection, up to 4 requests
 * pipelined on each, so a slow answer does not hold the next request back) and logs every
 * request's latency; wrk2, which would do the same, is not packaged.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/shared/config.js';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { startLocalRedis } from '../../src/shared/local/redis-server.js';
import { startChildDynalite } from '../../src/shared/local/dynalite-server.js';
import { percentile } from '../support/holds.js';
import { spawnBenchChild, type BenchChild } from '../support/processes.js';
import { checkRequest } from '../system/requests.js';
import { postWithWrk, type Wrk } from './wrk.js';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const json = process.argv.includes('--json');
const PROCESSES = arg('processes', 2);
const ROUNDS = arg('rounds', 5);
const PHASE_MS = 4_000;
const RATE_MS = 8_000;
const RAW_CONCURRENCY = 16;
const HTTP_CONNECTIONS = 64;
const BATCH = 500;
const BATCH_ROUNDS = 10;
const run = promisify(execFile);

const redisServer = await startLocalRedis();
const dynamo = await startChildDynalite();
const baseEnv = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  REDIS_URL: redisServer.url,
  DYNAMODB_ENDPOINT: dynamo.endpoint,
  QUEUE_PREFIX: 'bench-http',
  DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
  BATCH_BACKLOG_LIMIT: '100000000',
  // Measures the API itself, not the per-key rate limit (which still runs on every request).
  RATE_LIMIT_PER_SECOND: '100000000',
  RATE_LIMIT_BURST: '100000000',
};
const ports: number[] = [];
const producers: BenchChild[] = [];
for (const processes of [1, PROCESSES]) {
  const port = await freePort();
  ports.push(port);
  producers.push(
    spawnBenchChild(new URL('../../src/producer/main.ts', import.meta.url), {
      ...baseEnv,
      PORT: String(port),
      PRODUCER_PROCESSES: String(processes),
    }),
  );
}
const [single = 0, several = 0] = ports;
const url = (port: number) => `http://127.0.0.1:${port}`;
for (const port of ports)
  await waitForHttp(`${url(port)}/healthz`, { what: 'a producer', timeoutMs: 20_000 });

const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const config = loadConfig({ ...baseEnv, QUEUE_PREFIX: 'bench-raw' });
const raw = CheckQueues.fromConfig(redis, config);
const headers = { authorization: 'Bearer local-dev-key', 'content-type': 'application/json' };
const postBody = JSON.stringify({ priority: 'batch', request: checkRequest('WRK1') });
const wrk = postWithWrk(headers.authorization, postBody, HTTP_CONNECTIONS);
const now = () => performance.now();
const figures: Record<string, number> = {};
const rounds: { raw: number; one: Wrk; all: Wrk }[] = [];

try {
  // Warm-up of both paths (JIT, connections, scripts loaded in Redis).
  await rawLoop(1_000);
  await wrk(url(single), 2_000);
  await wrk(url(several), 2_000);

  for (let r = 0; r < ROUNDS; r++) {
    const rawRate = await fresh(() => rawLoop(PHASE_MS));
    const one = await fresh(() => wrk(url(single), PHASE_MS));
    const all = await fresh(() => wrk(url(several), PHASE_MS));
    rounds.push({ raw: rawRate, one, all });
  }
  const median = (f: (r: (typeof rounds)[number]) => number) => percentile(rounds.map(f), 50);
  figures.producerProcesses = PROCESSES;
  figures.rawAddPerSecond = median((r) => r.raw);
  figures.postPerSecondOneProcess = median((r) => r.one.rate);
  figures.postP99MsOneProcess = median((r) => r.one.p99);
  figures.shareOfRawAddOneProcess = median((r) => r.one.rate / r.raw);
  figures.postPerSecond = median((r) => r.all.rate);
  figures.postP50Ms = median((r) => r.all.p50);
  figures.postP99Ms = median((r) => r.all.p99);
  figures.postShareOfRawAdd = median((r) => r.all.rate / r.raw);

  const target = figures.rawAddPerSecond * 0.5;
  const held = await fresh(() => atRate(several, target, RATE_MS));
  figures.atRateTargetPerSecond = target;
  figures.atRateAnsweredPerSecond = held.rate;
  figures.atRateP50Ms = held.p50;
  figures.atRateP99Ms = held.p99;
  figures.atRateMaxMs = held.max;
  figures.atRateNon2xx = held.non2xx;

  // Batches: raw addBulk and POST /batch alternate, BATCH_ROUNDS batches of each per round.
  const bulkItems = Array.from({ length: BATCH }, (_, i) => checkRequest(`BB${i}`));
  const body = JSON.stringify({ items: bulkItems });
  const postBatch = async () => {
    const res = await fetch(`${url(several)}/v1/eligibility/batch`, {
      method: 'POST',
      headers,
      body,
    });
    if (res.status !== 202) throw new Error(`batch POST answered ${res.status}`);
    await res.arrayBuffer();
  };
  await postBatch(); // Warm-up.
  const batchRounds: { raw: number; post: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const rawBulk = await fresh(() =>
      checksPerSecond(() => raw.addBulk('batch', bulkItems).then(() => undefined)),
    );
    const postBulk = await fresh(() => checksPerSecond(postBatch));
    batchRounds.push({ raw: rawBulk, post: postBulk });
  }
  const batchMedian = (f: (r: (typeof batchRounds)[number]) => number) =>
    percentile(batchRounds.map(f), 50);
  figures.rawAddBulkChecksPerSecond = batchMedian((r) => r.raw);
  figures.batchPostChecksPerSecond = batchMedian((r) => r.post);
  figures.batchShareOfRawAddBulk = batchMedian((r) => r.post / r.raw);
} finally {
  for (const p of producers) p.process.kill('SIGTERM');
  await Promise.all(producers.map((p) => p.exited));
  await raw.close();
  redis.disconnect();
  await Promise.allSettled([redisServer.stop(), dynamo.stop()]);
}

for (const k of Object.keys(figures)) figures[k] = Math.round((figures[k] ?? 0) * 1000) / 1000;
if (json)
  process.stdout.write(
    JSON.stringify(
      {
        rounds: ROUNDS,
        phaseMs: PHASE_MS,
        rawConcurrency: RAW_CONCURRENCY,
        httpConnections: HTTP_CONNECTIONS,
        batchSize: BATCH,
        figures,
      },
      null,
      2,
    ) + '\n',
  );
else {
  console.log(
    `producer vs raw BullMQ: medians of ${ROUNDS} alternating rounds of ${PHASE_MS / 1000} s; ` +
      `raw add by ${RAW_CONCURRENCY} concurrent adders, POST by ${HTTP_CONNECTIONS} connections; ` +
      `PRODUCER_PROCESSES=${PROCESSES}; batches of ${BATCH}`,
  );
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${v}`);
}

/**
 * Runs a phase on an empty Redis, so no phase pays for the hundreds of thousands of checks the
 * ones before it left waiting (BullMQ recreates its keys on the next add).
 */
async function fresh<T>(phase: () => Promise<T>): Promise<T> {
  await redis.flushdb();
  return phase();
}

/** Checks per second over BATCH_ROUNDS sequential batches of BATCH. */
async function checksPerSecond(batch: () => Promise<void>): Promise<number> {
  const t0 = now();
  for (let i = 0; i < BATCH_ROUNDS; i++) await batch();
  return (BATCH * BATCH_ROUNDS) / ((now() - t0) / 1000);
}

/** Raw queue.add in a closed loop of RAW_CONCURRENCY adders; returns adds per second. */
async function rawLoop(ms: number): Promise<number> {
  let done = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: RAW_CONCURRENCY }, async () => {
      while (now() - start < ms) {
        await raw.add('batch', checkRequest(`R${done}`));
        done++;
      }
    }),
  );
  return done / ((now() - start) / 1000);
}

/** POSTs to `port` at `rate` per second for `ms` with h2load; latencies from its per-request log. */
async function atRate(port: number, rate: number, ms: number) {
  const body = join(tmpdir(), 'eq-bench-post.json');
  const log = join(tmpdir(), 'eq-bench-h2load.log');
  writeFileSync(body, postBody);
  writeFileSync(log, '');
  await run('h2load', [
    '--h1',
    `-c${HTTP_CONNECTIONS}`,
    '-m4',
    `--rps=${rate / HTTP_CONNECTIONS}`,
    `-D${ms / 1000}`,
    `-d${body}`,
    `-Hauthorization: ${headers.authorization}`,
    `-Hcontent-type: ${headers['content-type']}`,
    `--log-file=${log}`,
    `${url(port)}/v1/eligibility`,
  ]);
  // Columns: start (µs since the epoch), HTTP status, µs until the whole answer was in.
  const rows = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t').map(Number));
  const ok = rows
    .filter((r) => (r[1] ?? 0) >= 200 && (r[1] ?? 0) < 300)
    .map((r) => (r[2] ?? 0) / 1000);
  return {
    rate: ok.length / (ms / 1000),
    p50: percentile(ok, 50),
    p99: percentile(ok, 99),
    max: percentile(ok, 100),
    non2xx: rows.length - ok.length,
  };
}
