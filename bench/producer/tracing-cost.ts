/**
 * `npm run bench:tracing-cost [-- --before=REV] [--after=REV] [--rounds=R] [--json]`: what the
 * optional OpenTelemetry tracing costs `POST /v1/eligibility`. Five one-process producers on one
 * Redis, each POSTed to by wrk (64 connections) in turn, round after round, on an emptied Redis
 * each phase, so machine noise hits them alike; the figures are medians over the rounds:
 *  - `before`: the code just before tracing came in (4ad989e^, extracted with `git archive`);
 *  - `after`: the commit that brought it (4ad989e), tracing off (no OTLP endpoint);
 *  - `head`: this checkout, tracing off;
 *  - `head, tracing on`: this checkout exporting every trace over OTLP/HTTP to a local sink;
 *  - `head, tracing on, 10%`: the same with TRACE_SAMPLE_RATIO=0.1.
 * `afterOffVsBefore` is the cost of tracing when off (the bound: at least 0.95); `head`
 * against `before` also carries everything else that changed since.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { freePort } from '../../src/shared/local/free-port.js';
import { startLocalRedis } from '../../src/shared/local/redis-server.js';
import { startChildDynalite } from '../../src/shared/local/dynalite-server.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { percentile } from '../support/holds.js';
import { spawnBenchChild, type BenchChild } from '../support/processes.js';
import { checkRequest } from '../system/requests.js';
import { postWithWrk } from './wrk.js';

const option = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const json = process.argv.includes('--json');
const BEFORE = option('before', '4ad989e^');
const AFTER = option('after', '4ad989e');
const ROUNDS = Number(option('rounds', '5'));
const PHASE_MS = 4_000;
const repo = new URL('../../', import.meta.url).pathname;

/** The tree of `rev` in a temporary folder, using this checkout's node_modules. */
function extract(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'eq-rev-'));
  execFileSync('bash', ['-c', `git -C "${repo}" archive "${rev}" | tar -x -C "${dir}"`]);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

// Answers every OTLP export with 200 and drops it.
const sink = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const trees = { before: extract(BEFORE), after: extract(AFTER) };
const redisServer = await startLocalRedis();
// The producers' DynamoDB (the semaphore status), local: none of them may look for AWS.
const dynamo = await startChildDynalite();
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
const baseEnv = {
  NODE_ENV: 'development',
  LOG_LEVEL: 'warn',
  REDIS_URL: redisServer.url,
  DYNAMODB_ENDPOINT: dynamo.endpoint,
  DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
  BATCH_BACKLOG_LIMIT: '100000000',
  RATE_LIMIT_PER_SECOND: '100000000',
  RATE_LIMIT_BURST: '100000000',
  PRODUCER_PROCESSES: '1',
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
};
const variants = [
  { id: 'before', root: trees.before, env: {} },
  { id: 'after', root: trees.after, env: {} },
  { id: 'head', root: repo, env: {} },
  { id: 'headTracingOn', root: repo, env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } },
  {
    id: 'headTracingOnTenth',
    root: repo,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, TRACE_SAMPLE_RATIO: '0.1' },
  },
];
const children: BenchChild[] = [];
const rates: Record<string, number[]> = {};
const wrk = postWithWrk(
  'Bearer local-dev-key',
  JSON.stringify({ priority: 'batch', request: checkRequest('WRK1') }),
  64,
);

try {
  const bases: string[] = [];
  for (const v of variants) {
    const port = await freePort();
    children.push(
      spawnBenchChild(pathToFileURL(join(v.root, 'src/producer/main.ts')), {
        ...baseEnv,
        ...v.env,
        PORT: String(port),
        QUEUE_PREFIX: `bench-${v.id}`,
      }),
    );
    bases.push(`http://127.0.0.1:${port}`);
  }
  for (const base of bases)
    await waitForHttp(`${base}/healthz`, { what: 'a producer', timeoutMs: 30_000 });
  for (const base of bases) await wrk(base, 2_000); // Warm-up (JIT, scripts loaded in Redis).
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, v] of variants.entries()) {
      await redis.flushdb();
      (rates[v.id] ??= []).push((await wrk(bases[i] ?? '', PHASE_MS)).rate);
    }
} finally {
  for (const c of children) c.process.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  redis.disconnect();
  await Promise.allSettled([redisServer.stop(), dynamo.stop()]);
  sink.close();
  for (const dir of Object.values(trees)) rmSync(dir, { recursive: true, force: true });
}

const median = (id: string) => percentile(rates[id] ?? [], 50);
const round3 = (n: number) => Math.round(n * 1000) / 1000;
const figures = {
  postPerSecondBefore: round3(median('before')),
  postPerSecondAfterTracingOff: round3(median('after')),
  postPerSecondHeadTracingOff: round3(median('head')),
  postPerSecondHeadTracingOn: round3(median('headTracingOn')),
  postPerSecondHeadTracingOnTenth: round3(median('headTracingOnTenth')),
  afterOffVsBefore: round3(median('after') / median('before')),
  headOffVsBefore: round3(median('head') / median('before')),
  headOnVsHeadOff: round3(median('headTracingOn') / median('head')),
  headOnTenthVsHeadOff: round3(median('headTracingOnTenth') / median('head')),
};
if (json)
  process.stdout.write(JSON.stringify({ before: BEFORE, after: AFTER, rates, figures }) + '\n');
else {
  console.log(
    `tracing cost: POST /v1/eligibility, one producer process each, wrk 64 connections, ` +
      `medians of ${ROUNDS} rounds of ${PHASE_MS / 1000} s; before = ${BEFORE}, after = ${AFTER}`,
  );
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k.padEnd(32)} ${v}`);
}
