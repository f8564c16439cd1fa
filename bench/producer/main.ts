/**
 * `npm run bench:producer [-- --json]`: the REST API against raw BullMQ on the same Redis.
 *  1. raw queue.add, closed loop (16 concurrent adders)               -> rate
 *  2. POST /v1/eligibility, closed loop of 16 connections from `wrk`   -> rate, p50/p99
 *     (wrk, Debian's C load generator: Node's fetch would be the bottleneck, not the producer)
 *  3. POST /v1/eligibility, open loop at half the POST rate (Node)     -> p50/p99 at that rate
 *  4. raw addBulk of 500 vs POST /v1/eligibility/batch of 500          -> checks per second
 * The producer runs as its own process, as in production.
 */
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Agent, setGlobalDispatcher } from 'undici';
import { cipherFromConfig, prioritySettings, loadConfig } from '../../src/shared/config.js';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { startLocalRedis } from '../../src/shared/local/redis-server.js';
import { startChildDynalite } from '../../src/shared/local/dynalite-server.js';
import { percentile } from '../support/holds.js';
import { checkRequest } from '../system/requests.js';

const json = process.argv.includes('--json');
const DURATION_MS = 5_000;
const CONCURRENCY = 16;
const BATCH = 500;
const BATCH_ROUNDS = 10;
setGlobalDispatcher(new Agent({ keepAliveTimeout: 30_000, connections: 64 }));

const redisServer = await startLocalRedis();
const dynamo = await startChildDynalite();
const port = await freePort();
const env = {
  ...process.env,
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  PORT: String(port),
  REDIS_URL: redisServer.url,
  DYNAMODB_ENDPOINT: dynamo.endpoint,
  QUEUE_PREFIX: 'bench-http',
  DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
  BATCH_BACKLOG_LIMIT: '100000000',
  // Measures the API itself, not the per-key rate limit.
  RATE_LIMIT_PER_SECOND: '100000000',
  RATE_LIMIT_BURST: '100000000',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const producer = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('../../src/producer/main.ts', import.meta.url))],
  {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const base = `http://127.0.0.1:${port}`;
await waitForHttp(`${base}/healthz`, { what: 'the producer', timeoutMs: 20_000 });

const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const config = loadConfig({ ...env, QUEUE_PREFIX: 'bench-raw' });
const raw = new CheckQueues(redis, 'bench-raw', prioritySettings(config), cipherFromConfig(config));
const headers = { authorization: 'Bearer local-dev-key', 'content-type': 'application/json' };
const now = () => performance.now();
const figures: Record<string, number> = {};

try {
  // Warm-up of both paths.
  await closedLoop(async (i) => void (await raw.add('batch', checkRequest(`W${i}`))), 1_000);
  await closedLoop((i) => postOne(i), 1_000);

  const rawAdd = await closedLoop(
    async (i) => void (await raw.add('batch', checkRequest(`R${i}`))),
    DURATION_MS,
  );
  figures.rawAddPerSecond = rawAdd.rate;
  const http = wrkPost();
  figures.postPerSecond = http.rate;
  figures.postP50Ms = http.p50;
  figures.postP99Ms = http.p99;
  figures.postShareOfRawAdd = http.rate / rawAdd.rate;
  const open = await openLoop(http.rate * 0.5, DURATION_MS);
  figures.openLoopRatePerSecond = open.rate;
  figures.openLoopP50Ms = open.p50;
  figures.openLoopP99Ms = open.p99;

  const bulkItems = Array.from({ length: BATCH }, (_, i) => checkRequest(`BB${i}`));
  const t0 = now();
  for (let r = 0; r < BATCH_ROUNDS; r++) await raw.addBulk('batch', bulkItems);
  figures.rawAddBulkChecksPerSecond = (BATCH * BATCH_ROUNDS) / ((now() - t0) / 1000);
  const body = JSON.stringify({ items: bulkItems });
  const t1 = now();
  for (let r = 0; r < BATCH_ROUNDS; r++) {
    const res = await fetch(`${base}/v1/eligibility/batch`, { method: 'POST', headers, body });
    if (res.status !== 202) throw new Error(`batch POST answered ${res.status}`);
    await res.arrayBuffer();
  }
  figures.batchPostChecksPerSecond = (BATCH * BATCH_ROUNDS) / ((now() - t1) / 1000);
  figures.batchShareOfRawAddBulk =
    figures.batchPostChecksPerSecond / figures.rawAddBulkChecksPerSecond;
} finally {
  producer.kill('SIGTERM');
  await new Promise((r) => producer.once('exit', r));
  await raw.close();
  redis.disconnect();
  await Promise.allSettled([redisServer.stop(), dynamo.stop()]);
}

for (const k of Object.keys(figures)) figures[k] = Math.round((figures[k] ?? 0) * 1000) / 1000;
if (json)
  process.stdout.write(
    JSON.stringify(
      { concurrency: CONCURRENCY, durationMs: DURATION_MS, batchSize: BATCH, figures },
      null,
      2,
    ) + '\n',
  );
else {
  console.log(
    `producer vs raw BullMQ (closed loops of ${CONCURRENCY}, ${DURATION_MS / 1000} s each; batches of ${BATCH})`,
  );
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(28)} ${v}`);
}

/** Runs wrk against POST /v1/eligibility and reads its rate and latency percentiles. */
function wrkPost(): { rate: number; p50: number; p99: number } {
  const script = join(tmpdir(), 'eq-bench-post.lua');
  const body = JSON.stringify({ priority: 'batch', request: checkRequest('WRK1') });
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n` +
      `wrk.headers["Authorization"] = "${headers.authorization}"\nwrk.body = '${body}'\n`,
  );
  const out = execFileSync(
    'wrk',
    [
      '-t1',
      `-c${CONCURRENCY}`,
      `-d${DURATION_MS / 1000}s`,
      '--latency',
      '-s',
      script,
      `${base}/v1/eligibility`,
    ],
    {
      encoding: 'utf8',
    },
  );
  if (/Non-2xx/.test(out)) throw new Error(`wrk saw non-2xx answers:\n${out}`);
  const ms = (label: string) => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`no ${label} in wrk output:\n${out}`);
    const v = Number(m[1]);
    return m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  };
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms('50%'),
    p99: ms('99%'),
  };
}

async function postOne(i: number): Promise<void> {
  const res = await fetch(`${base}/v1/eligibility`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ priority: 'batch', request: checkRequest(`H${i}`) }),
  });
  if (res.status !== 202) throw new Error(`POST answered ${res.status}`);
  await res.arrayBuffer();
}

async function closedLoop(op: (i: number) => Promise<void>, ms: number) {
  const latencies: number[] = [];
  let i = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (now() - start < ms) {
        const t = now();
        await op(i++);
        latencies.push(now() - t);
      }
    }),
  );
  const elapsed = (now() - start) / 1000;
  return {
    rate: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** Sends POSTs at a fixed rate (open loop), so latency is measured at that rate, not at saturation. */
async function openLoop(rate: number, ms: number) {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = now();
  let n = 0;
  while (now() - start < ms) {
    const due = start + (n * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = now();
    const k = n++;
    pending.push(postOne(k).then(() => void latencies.push(now() - t)));
  }
  await Promise.all(pending);
  return {
    rate: n / ((now() - start) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}
