/**
 * `npm start`: the whole system on this machine with embedded defaults: Redis (data in
 * .local/redis), dynalite (data in .local/dynamodb), the Stedi simulator, the producer and WORKERS
 * worker processes. Point any part at a real one with REDIS_URL, DYNAMODB_ENDPOINT, or
 * STEDI_BASE_URL + STEDI_API_KEY. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateDataKeySpec } from '../src/shared/crypto/data-cipher.js';
import { loadConfig } from '../src/shared/config.js';
import { createDynamoClient } from '../src/shared/clients/dynamodb.js';
import { startChildDynalite, type LocalDynamo } from '../src/shared/local/dynalite-server.js';
import { startLocalRedis, type LocalRedis } from '../src/shared/local/redis-server.js';
import { waitForHttp } from '../src/shared/local/wait-for-http.js';
import { ensureSemaphoreTable } from '../src/shared/semaphore/index.js';
import { devCredentials } from '../src/producer/producer-server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
const workers = Number(env.WORKERS ?? 2);
const dataDir = env.LOCAL_DATA_DIR ?? `${root}.local`;
// Worker i serves /metrics on base + i - 1; a base of 0 gives each a free port.
const metricsBase = Number(env.WORKER_METRICS_PORT ?? 9464);
if (!Number.isInteger(workers) || workers < 1)
  throw new Error('WORKERS must be a whole number >= 1');

let redis: LocalRedis | undefined;
let dynamo: LocalDynamo | undefined;
const children: ChildProcess[] = [];

if (!env.REDIS_URL) {
  redis = await startLocalRedis({
    dataDir: `${dataDir}/redis`,
    port: Number(env.LOCAL_REDIS_PORT ?? 6379),
    detached: true,
  }).catch(async () => startLocalRedis({ dataDir: `${dataDir}/redis`, detached: true }));
  env.REDIS_URL = redis.url;
}
if (!env.DYNAMODB_ENDPOINT) {
  dynamo = await startChildDynalite({ path: `${dataDir}/dynamodb`, detached: true });
  env.DYNAMODB_ENDPOINT = dynamo.endpoint;
}
const realStedi = Boolean(env.STEDI_BASE_URL && env.STEDI_API_KEY);
if (!realStedi) {
  env.SIMULATOR_PORT ??= '4010';
  env.SIMULATOR_CONCURRENCY ??= env.STEDI_CONCURRENCY ?? '5';
  env.STEDI_BASE_URL = `http://127.0.0.1:${env.SIMULATOR_PORT}`;
  // The simulator serves the Batch Eligibility API too: routed runs must not look for Stedi's.
  env.STEDI_BATCH_BASE_URL = env.STEDI_BASE_URL;
  env.STEDI_API_KEY = 'dev-key';
  children.push(run('simulator', 'src/simulator/main.ts'));
}
if (!env.DATA_ENCRYPTION_KEYS) {
  // Patient data is encrypted in Redis; locally a key is made once and kept beside the data.
  const keyFile = `${dataDir}/data-key`;
  if (!existsSync(keyFile)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(keyFile, generateDataKeySpec('local1') + '\n', { mode: 0o600 });
    console.log(
      `made a data encryption key in ${keyFile} (production takes DATA_ENCRYPTION_KEYS instead)`,
    );
  }
  env.DATA_ENCRYPTION_KEYS = readFileSync(keyFile, 'utf8').trim();
}
const config = loadConfig(env);
const client = createDynamoClient({
  endpoint: config.DYNAMODB_ENDPOINT,
  region: config.AWS_REGION,
});
await ensureSemaphoreTable(client, config.SEMAPHORE_TABLE);
client.destroy();

children.push(run('producer', 'src/producer/main.ts'));
for (let i = 1; i <= workers; i++)
  children.push(
    run(`worker-${i}`, 'src/worker/main.ts', {
      WORKER_METRICS_PORT: String(metricsBase === 0 ? 0 : metricsBase + i - 1),
    }),
  );

const api = `http://127.0.0.1:${config.PORT}`;
await waitForHttp(`${api}/readyz`, { what: 'the producer', timeoutMs: 60_000, intervalMs: 200 });
const [apiName, apiKey] =
  (config.API_KEYS ?? devCredentials.apiKeys).split(',')[0]?.split(':') ?? [];
const boardUser =
  (config.BULL_BOARD_USERS ?? devCredentials.boardUsers).split(',')[0]?.split(':') ?? [];
console.log(`
eligibility-queue is running (${workers} workers, allocation ${config.STEDI_CONCURRENCY}, ${realStedi ? `Stedi at ${config.STEDI_BASE_URL}` : `Stedi simulator at ${config.STEDI_BASE_URL}`})
  API         ${api}   (key "${apiName ?? ''}": ${apiKey ?? ''})
  OpenAPI     ${api}/openapi.json
  Bull Board  ${api}/admin/queues   (user ${boardUser[0] ?? ''}, password ${boardUser[1] ?? ''})
  Status      ${api}/admin/status   (the same user: slots, breakers, waiting checks, live)
  Metrics     ${api}/metrics${metricsBase > 0 ? `, workers on :${metricsBase}..${metricsBase + workers - 1}/metrics` : ''}
  Redis       ${config.REDIS_URL}   DynamoDB ${config.DYNAMODB_ENDPOINT}

Try a check (waits up to 30 s for the answer):
  curl -s -X POST '${api}/v1/eligibility?wait=30' -H 'Authorization: Bearer ${apiKey ?? ''}' -H 'Content-Type: application/json' \\
    -d '{"request":{"tradingPartnerServiceId":"87726","provider":{"organizationName":"Test Clinic","npi":"1999999984"},"subscriber":{"memberId":"UHC123456","firstName":"Jane","lastName":"Doe","dateOfBirth":"19710101"}}}'

Ctrl-C stops everything.`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping...');
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const done = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await done;
    }),
  );
  await Promise.allSettled([redis?.stop(), dynamo?.stop()]);
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

function run(name: string, file: string, extra: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `${root}${file}`], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches only this script, which then stops each child once, in
    // order. A worker that got the terminal's SIGINT as well would take it as a second signal.
    detached: true,
  });
  const prefix = `[${name}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line) process.stdout.write(prefix + line + '\n');
    });
  }
  child.once('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${prefix}exited (${code ?? signal}); stopping the stack`);
      void stop();
    }
  });
  return child;
}
