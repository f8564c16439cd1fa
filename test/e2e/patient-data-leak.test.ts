/**
 * Runs checks with recognisable patient values through the whole path (REST, Redis, worker,
 * simulator, results, Bull Board, the status page, errors) in both request shapes with tracing
 * on, then searches every log line, every Redis value under the deployment's prefix, every Bull
 * Board and status page answer, every error body, every result summary, every run view and
 * results export and every span (names, attributes, events) for them. The last tests switch
 * encryption, redaction, then the withholding of job results from spans off and show the same
 * search finds the values.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ValueCipher } from '../../src/shared/crypto/data-cipher.js';
import { checkRequestSchema } from '../../src/shared/schemas/check-request.js';
import { convertRequest } from '../../src/shared/schemas/request-conversion.js';
import { checkRequest } from '../support/fixtures.js';
import { captureLogger, dumpRedis, findCanaries, PlaintextCipher } from '../support/leak-scan.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { memoryTracing, spanTexts } from '../support/spans.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

// Letter runs no field name, code or message contains, so any six-character fragment of them
// found anywhere is this patient's data.
const canary = {
  memberId: 'QZVXKJW5150',
  firstName: 'Qzvykxjwq',
  lastName: 'Jxqwvkzyq',
  dateOfBirth: '19610203',
};
const canaries = [...Object.values(canary), '1961-02-03'];
const patient = (payer = '87726') => ({
  ...checkRequest(canary.memberId, payer),
  subscriber: { ...canary },
});
/** The same patient in Stedi's 2026-06-01 request shape. */
function patient2026(): Record<string, unknown> {
  const converted = convertRequest(checkRequestSchema.parse(patient()), '2026-06-01');
  if (!converted.ok) throw new Error('the patient fixture does not convert');
  return converted.body;
}

let w: WorkerEnv | undefined;
let p: ProducerEnv | undefined;
let traced: ReturnType<typeof memoryTracing> | undefined;
afterEach(async () => {
  await p?.close();
  await w?.close();
  await traced?.tracing.close();
  p = w = traced = undefined;
});

type Found = Record<
  'logs' | 'redis' | 'board' | 'errors' | 'summaries' | 'runs' | 'spans' | 'webhooks',
  string[]
>;

/** What a clean run finds: nothing, anywhere. */
const nothingFound: Found = {
  logs: [],
  redis: [],
  board: [],
  errors: [],
  summaries: [],
  runs: [],
  spans: [],
  webhooks: [],
};

async function runScenario(opts: {
  cipher?: ValueCipher;
  redactBoard?: boolean;
  keepJobResults?: boolean;
  /** Turn the answer cache on: repeats of the patient are then served from sealed entries. */
  answerCache?: boolean;
}): Promise<Found> {
  const logs = captureLogger();
  traced = memoryTracing(opts.keepJobResults ? { keepJobResults: true } : {});
  const { tracing } = traced;
  const route = { STEDI_BATCH_POLL_MS: '100', STEDI_BATCH_POLL_MAX_MS: '300' };
  w = await workerEnv(
    {
      STEDI_CONCURRENCY: '2',
      STEDI_REALTIME_RESERVED: '1',
      REALTIME_ATTEMPTS: '1',
      ANSWER_CACHE_MAX_AGE_SECONDS: opts.answerCache ? '600' : '0',
      ...route,
    },
    {
      concurrency: 2,
      latency: { medianMs: 20, sigma: 0, maxMs: 1_000 },
      batch: { concurrency: 4, latencyMedianMs: 20, retryMs: 1_000, submitMs: 10 },
    },
  );
  p = await producerEnv(
    {
      ...w.deployment,
      ...route,
      BULL_BOARD_USERS: 'admin:admin-secret:admin',
    },
    {
      logger: logs.logger,
      tracing,
      ...(opts.cipher ? { cipher: opts.cipher } : {}),
      ...(opts.redactBoard === false ? { redactBoard: false } : {}),
    },
  );
  await w.startWorker(
    {},
    { logger: logs.logger, tracing, ...(opts.cipher ? { cipher: opts.cipher } : {}) },
  );
  const env = p;
  const errors: [string, string][] = [];
  let sent = 0;
  const post = async (path: string, body: unknown, expected: number, scanBody = true) => {
    const res = await env.call(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'idempotency-key': `leak-${++sent}` },
    });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(expected);
    if (scanBody) errors.push([`POST ${path} -> ${res.status}`, text]);
    return JSON.parse(text) as {
      id?: string;
      runId?: string;
      checks?: { id: string }[];
      summary?: unknown;
    };
  };

  // Webhook payloads (by default ids, states and summaries) go to a receiver outside: scanned.
  const hooks: [string, string][] = [];
  const hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push([`webhook ${hooks.length}`, Buffer.concat(chunks).toString()]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  const hookPort = (hookServer.address() as AddressInfo).port;
  await post(
    '/v1/webhooks/endpoints',
    {
      url: `http://127.0.0.1:${hookPort}/hook`,
      events: ['check.completed', 'check.failed', 'run.completed'],
    },
    201,
    false,
  );

  // The answer to the client who asked is theirs to see: that body is not scanned. Its summary
  // holds no patient value at all (it is what a front desk may show around), so it is.
  const summaries: [string, string][] = [];
  for (const request of [patient(), patient2026()]) {
    const answered = await post('/v1/eligibility?wait=10', { request }, 200, false);
    expect(answered.summary).toMatchObject({ coverage: expect.any(String) });
    summaries.push([`summary of ${answered.id ?? ''}`, JSON.stringify(answered.summary)]);
  }
  const failed = await post('/v1/eligibility?wait=10', { request: patient('NOPAYER') }, 200);
  await post(
    '/v1/eligibility',
    { request: { ...patient(), provider: { organizationName: 'X', npi: '123' } } },
    400,
  );
  await post(
    '/v1/eligibility',
    { request: { ...patient(), subscriber: { ...canary, dateOfBirth: '19610231' } } },
    400,
  );
  await post(
    '/v1/eligibility/batch',
    { items: [patient(), { ...patient(), subscriber: { ...canary, memberId: 'CANARY!!' } }] },
    400,
  );
  const batch = await post('/v1/eligibility/batch', { items: [patient(), patient()] }, 202);
  // The same patient routed to Stedi's Batch Eligibility API, in both shapes.
  const routed = await post(
    '/v1/eligibility/batch',
    { items: [patient(), patient2026()], route: 'stedi-batch' },
    202,
  );
  for (const c of batch.checks ?? []) {
    const job = await env.queues.get(c.id);
    if (job) await w.waitFor(job);
  }
  for (const c of routed.checks ?? []) {
    const job = await env.queues.get(c.id);
    expect(job && (await w.waitFor(job))).toBe('completed');
  }
  // A run's view and its results export (both formats) hold ids, states and summaries only.
  const runs: [string, string][] = [];
  for (const path of ['', '/results', '/results?format=csv']) {
    const res = await env.call(`/v1/runs/${batch.runId ?? ''}${path}`);
    expect(res.status).toBe(200);
    runs.push([`GET run${path}`, await res.text()]);
  }
  expect(runs[1]?.[1]).toContain('"coverage"');
  const read = await env.call(`/v1/eligibility/${failed.id ?? ''}`);
  errors.push(['GET failed check', await read.text()]);

  const board: [string, string][] = [];
  const auth = { authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}` };
  for (const queue of [
    'eligibility-realtime',
    'eligibility-batch',
    'eligibility-stedi-batch',
    'eligibility-stedi-batch-chunks',
  ]) {
    for (const status of ['completed', 'failed', 'waiting', 'latest']) {
      const res = await fetch(
        `${env.url}/admin/queues/api/queues?activeQueue=${queue}&status=${status}&page=1&jobsPerPage=50`,
        { headers: auth },
      );
      board.push([`board ${queue}/${status}`, await res.text()]);
    }
  }
  // The status page (Bull Board's users) shows payers, tenants and check ids, never patient data.
  for (const path of ['/admin/status', '/admin/status/data']) {
    const res = await fetch(`${env.url}${path}`, { headers: auth });
    board.push([`status page ${path}`, await res.text()]);
  }
  if (failed.id) {
    const res = await fetch(
      `${env.url}/admin/queues/api/queues/eligibility-realtime/${failed.id}`,
      { headers: auth },
    );
    board.push(['board job page', await res.text()]);
  }

  // Every check of this scenario and the run: five checks and one run.completed.
  const deadline = Date.now() + 15_000;
  while (hooks.length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise<void>((r) => hookServer.close(() => r()));
  expect(hooks.length).toBeGreaterThanOrEqual(6);

  const redis = await dumpRedis(env.redis, `${env.config.QUEUE_PREFIX}:`);
  expect(redis.size).toBeGreaterThan(10);
  if (opts.answerCache)
    expect([...redis.keys()].some((k) => k.includes(':answer-cache:'))).toBe(true);
  // A worker's span ends just after its check does.
  await new Promise((r) => setTimeout(r, 200));
  const spans = traced.spans();
  // With the cache on, the patient's repeats make no call (its first answer and the failure do).
  expect(spans.filter((s) => s.name === 'stedi call').length).toBeGreaterThanOrEqual(
    opts.answerCache ? 2 : 4,
  );
  return {
    logs: findCanaries(
      logs.lines.map((l, i) => [`log line ${i}`, l]),
      canaries,
    ),
    redis: findCanaries(redis, canaries),
    board: findCanaries(board, canaries),
    errors: findCanaries(errors, canaries),
    summaries: findCanaries(summaries, canaries),
    runs: findCanaries(runs, canaries),
    spans: findCanaries(spanTexts(spans), canaries),
    webhooks: findCanaries(hooks, canaries),
  };
}

describe('patient data leak test', () => {
  it('finds a patient value cut short, not only whole', () => {
    const texts: [string, string][] = [
      ['log', '{"member":"VXKJW5150"}'], // the member id less its first characters
      ['redis', '{"name":"QZVYKX"}'], // the first name's start
      ['clean', '{"firstName":"[redacted]","memberId":"[redacted]","dob":"19610204"}'],
      // A stream entry id whose timestamp ends like the date of birth begins.
      ['clean', '{"id":"1765151231961-0","dob":"1961-02-04"}'],
    ];
    const found = findCanaries(texts, canaries);
    expect(found.map((f) => f.split(':')[0])).toEqual(['log', 'redis']);
  });

  it('finds no patient value in logs, Redis, Bull Board, the status page, error bodies, spans or webhook payloads', async () => {
    const found = await runScenario({});
    expect(found).toEqual(nothingFound);
  });

  it('finds none with the answer cache on either (cached answers, their keys, shared calls)', async () => {
    const found = await runScenario({ answerCache: true });
    expect(found).toEqual(nothingFound);
  });

  it('would catch encryption switched off: patient values then show in Redis (not in spans)', async () => {
    const found = await runScenario({ cipher: new PlaintextCipher() });
    expect(found.redis.length).toBeGreaterThan(0);
    // Spans never carry the answer, sealed or not.
    expect(found.spans).toEqual([]);
  });

  it("would catch BullMQ's job results let into spans: with encryption off they show there", async () => {
    const found = await runScenario({ cipher: new PlaintextCipher(), keepJobResults: true });
    expect(found.spans.length).toBeGreaterThan(0);
  });

  it('would catch redaction switched off: patient values then show in Bull Board', async () => {
    const found = await runScenario({ redactBoard: false });
    expect(found.board.length).toBeGreaterThan(0);
    expect(found.redis).toEqual([]);
  });
});
