/**
 * PRODUCER_PROCESSES=2 as a user runs it (`npm run producer`): both processes serve one port,
 * /metrics adds them up, a killed producer is replaced, and SIGTERM stops them all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { freePort } from '../../src/shared/local/free-port.js';
import { waitForHttp } from '../../src/shared/local/wait-for-http.js';
import { exited, spawnTs } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { uniqueName } from '../support/names.js';

const KEY = 'cluster-test-key-1';
let port: number;
let primary: ReturnType<typeof spawnTs>;
let output = '';

beforeAll(async () => {
  port = await freePort();
  primary = spawnTs(new URL('../../src/producer/main.ts', import.meta.url), [], {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    PORT: String(port),
    PRODUCER_PROCESSES: '2',
    REDIS_URL: inject('redisUrl'),
    DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
    QUEUE_PREFIX: uniqueName('cl'),
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    API_KEYS: `cluster:${KEY}:submit+read+admin`,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  primary.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  primary.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, {
    what: 'the producer cluster',
    timeoutMs: 20_000,
    gaveUp: () => (primary.exitCode !== null ? output : undefined),
  });
  await waitFor(() => producerPids().length === 2, 'two producer processes');
});
afterAll(async () => {
  if (primary.exitCode !== null || primary.signalCode !== null) return;
  primary.kill('SIGKILL'); // Its producers exit when their channel to it closes.
  await exited(primary);
});

/** Pids of the producer processes the primary forked (not, say, tsx's esbuild service). */
function producerPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (ppid === primary.pid && cmdline.includes('producer/main.ts')) pids.push(Number(entry));
    } catch {
      // Exited while listed.
    }
  }
  return pids;
}

async function waitFor(ok: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request on a connection of its own, so the primary hands each to the next producer. */
function call(
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          authorization: `Bearer ${KEY}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const submit = () => call('POST', '/v1/eligibility', JSON.stringify({ request: checkRequest() }));
const metric = (text: string, pattern: RegExp) =>
  [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);

describe('PRODUCER_PROCESSES=2', () => {
  it('serves one port from both processes and reports them as one in /metrics', async () => {
    // Both producers serve before the count starts (under load the second one could still be
    // starting, and a scrape then missed the cluster's total).
    for (let ok = 0; ok < 4;) {
      ok = (await call('GET', '/healthz').catch(() => ({ status: 0 }))).status === 200 ? ok + 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 10; i++) expect((await submit()).status).toBe(202);
    // Each scrape goes to one producer; both must show the cluster's total, not their own half.
    for (let i = 0; i < 2; i++) {
      const { text } = await call('GET', '/metrics');
      expect(
        metric(
          text,
          /eq_http_requests_total\{method="POST",route="\/v1\/eligibility",status="202"\} (\d+)/g,
        ),
      ).toBe(10);
      // Queue depth is read from Redis by every producer: one reading, not the sum.
      expect(metric(text, /eq_queue_jobs\{priority="realtime",state="\w+"\} (\d+)/g)).toBe(10);
    }
  });

  it('replaces a producer that dies, and keeps serving', async () => {
    const [victim, survivor] = producerPids();
    expect(victim).toBeDefined();
    process.kill(victim ?? 0, 'SIGKILL');
    await waitFor(() => {
      const now = producerPids();
      return now.length === 2 && !now.includes(victim ?? 0) && now.includes(survivor ?? 0);
    }, 'a new producer process');
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, {
      what: 'the cluster',
      timeoutMs: 5_000,
    });
    for (let i = 0; i < 4; i++) expect((await submit()).status).toBe(202);
    expect(output).toContain('a producer process died; starting another');
  });

  it('stops every producer on SIGTERM and exits 0', async () => {
    const pids = producerPids();
    primary.kill('SIGTERM');
    expect(await exited(primary)).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
