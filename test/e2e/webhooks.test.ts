/**
 * Webhooks through the whole path, driven through the typed client: a receiver gets
 * check.completed, check.failed and run.completed with valid Standard Webhooks signatures and ids,
 * summaries but no full answer unless the endpoint asked; a receiver that fails for a while gets
 * every event later, and the deliveries API shows the attempts; production refuses plain-http and
 * private addresses unless allow-listed.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/shared/webhooks/signature.js';
import { apiClient } from '../support/api-client.js';
import type { components } from '../support/api-types.js';
import { checkRequest } from '../support/fixtures.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

type Items = components['schemas']['SubmitBatch']['items'];
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}
interface Receiver {
  url: string;
  received: Received[];
  /** Requests answered so far, failed ones included. */
  requests: number;
  close(): Promise<void>;
}

/** A webhook receiver that answers 503 to its first `failFirst` requests. */
async function receiver(failFirst = 0): Promise<Receiver> {
  const r: Omit<Receiver, 'url' | 'close'> = { received: [], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      if (r.requests <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      r.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

let w: WorkerEnv | undefined;
let p: ProducerEnv | undefined;
const receivers: Receiver[] = [];
afterEach(async () => {
  await p?.close();
  await w?.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  p = w = undefined;
});

async function until(ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const all = ['check.completed', 'check.failed', 'run.completed'] as const;

describe('webhooks', () => {
  it('delivers each event signed; a failing receiver gets them later; deliveries are visible', async () => {
    const webhookSettings = { WEBHOOK_BACKOFF_MS: '300', WEBHOOK_ATTEMPTS: '8' };
    w = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '0', ...webhookSettings },
      { concurrency: 2, latency: { medianMs: 20, sigma: 0, maxMs: 500 } },
    );
    p = await producerEnv({ ...w.deployment, ...webhookSettings });
    await w.startWorker();
    const api = apiClient(p.url, keys.all);
    const good = await receiver();
    const flaky = await receiver(3);
    const full = await receiver();
    receivers.push(good, flaky, full);
    const register = async (url: string, includeAnswer = false) => {
      const { data, response } = await api.POST('/v1/webhooks/endpoints', {
        body: { url, events: [...all], includeAnswer },
      });
      expect(response.status).toBe(201);
      if (!data) throw new Error('no endpoint');
      expect(data.secret).toMatch(/^whsec_/);
      return data;
    };
    const goodEndpoint = await register(good.url);
    const flakyEndpoint = await register(flaky.url);
    await register(full.url, true);
    // A key that registers nothing gets nothing, and cannot see the others' endpoints.
    const viewer = apiClient(p.url, keys.read);
    const hidden = await viewer.GET('/v1/webhooks/endpoints/{id}', {
      params: { path: { id: goodEndpoint.id } },
    });
    expect(hidden.response.status).toBe(404);

    const items = [
      checkRequest('SIM0000001'),
      checkRequest('SIM0000002'),
      checkRequest('SIM0000003', 'NOSUCHPAYER'),
    ] as Items;
    const { data: run } = await api.POST('/v1/eligibility/batch', { body: { items } });
    if (!run) throw new Error('no run');

    await until(() => good.received.length >= 4 && full.received.length >= 4);
    const events = good.received.map((r) => ({
      ...r,
      json: JSON.parse(r.body) as {
        type: string;
        data: { checkId?: string; runId?: string; status: string; summary?: unknown };
      },
    }));
    const types = events.map((e) => e.json.type).sort();
    expect(types).toEqual(['check.completed', 'check.completed', 'check.failed', 'run.completed']);
    for (const e of events) {
      const id = String(e.headers['webhook-id']);
      const ts = Number(e.headers['webhook-timestamp']);
      expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(300);
      expect(
        verifyWebhook(goodEndpoint.secret, id, ts, e.body, String(e.headers['webhook-signature'])),
      ).toBe(true);
      // Another endpoint's secret does not verify it.
      expect(
        verifyWebhook(flakyEndpoint.secret, id, ts, e.body, String(e.headers['webhook-signature'])),
      ).toBe(false);
      expect(e.body).not.toContain('"answer"');
      expect(e.body).not.toMatch(/SIM000000|Tester|19800101/);
    }
    const completed = events.filter((e) => e.json.type === 'check.completed');
    for (const e of completed) expect(e.json.data.summary).toMatchObject({ coverage: 'active' });
    const runEvent = events.find((e) => e.json.type === 'run.completed');
    expect(runEvent?.json.data).toMatchObject({
      runId: run.runId,
      status: 'completed',
      counts: { completed: 2, failed: 1 },
    });
    // The endpoint that chose the full answer gets it on check.completed.
    const withAnswer = full.received.map(
      (r) => JSON.parse(r.body) as { type: string; data: object },
    );
    expect(
      withAnswer.filter((e) => e.type === 'check.completed' && 'answer' in e.data),
    ).toHaveLength(2);

    // The flaky receiver refused three requests; every event still arrives, once each.
    await until(() => flaky.received.length >= 4);
    await new Promise((r) => setTimeout(r, 500));
    expect(flaky.received).toHaveLength(4);
    expect(new Set(flaky.received.map((r) => r.headers['webhook-id'])).size).toBe(4);
    const { data: deliveries } = await api.GET('/v1/webhooks/endpoints/{id}/deliveries', {
      params: { path: { id: flakyEndpoint.id } },
    });
    const list = deliveries?.deliveries ?? [];
    expect(list).toHaveLength(4);
    expect(list.every((d) => d.status === 'succeeded' && d.lastStatusCode === 204)).toBe(true);
    expect(list.reduce((n, d) => n + d.attempts, 0)).toBe(4 + 3);
  }, 60_000);

  it("raises the same events for a run routed to Stedi's Batch Eligibility API", async () => {
    const route = {
      STEDI_BATCH_CHUNK_SIZE: '2',
      STEDI_BATCH_POLL_MS: '100',
      STEDI_BATCH_POLL_MAX_MS: '400',
    };
    w = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '0', ...route },
      {
        concurrency: 2,
        // Stedi's batch pipeline 10,000 times faster: ~30 ms an item.
        timeScale: 0.0001,
        batch: { concurrency: 5, latencyMedianMs: 300_000, retryMs: 300_000, submitMs: 200_000 },
      },
    );
    p = await producerEnv({ ...w.deployment, ...route });
    await w.startWorker();
    const api = apiClient(p.url, keys.all);
    const hook = await receiver();
    receivers.push(hook);
    await api.POST('/v1/webhooks/endpoints', { body: { url: hook.url, events: [...all] } });
    const items = [checkRequest('SIM0000004'), checkRequest('SIM0000005')] as Items;
    const { data: run } = await api.POST('/v1/eligibility/batch', {
      body: { items, route: 'stedi-batch' },
    });
    if (!run) throw new Error('no run');
    expect(run.route).toBe('stedi-batch');
    await until(() => hook.received.length >= 3);
    const events = hook.received.map(
      (r) => JSON.parse(r.body) as { type: string; data: { checkId?: string; runId?: string } },
    );
    expect(events.map((e) => e.type).sort()).toEqual([
      'check.completed',
      'check.completed',
      'run.completed',
    ]);
    for (const e of events) expect(e.data.runId).toBe(run.runId);
    expect(
      events
        .filter((e) => e.data.checkId)
        .map((e) => e.data.checkId)
        .sort(),
    ).toEqual(run.checks.map((c) => c.id).sort());
  }, 60_000);

  it('in production refuses plain-http and private, loopback and link-local URLs, bar the allow-list', async () => {
    p = await producerEnv({
      NODE_ENV: 'production',
      BULL_BOARD_USERS: 'admin:admin-secret-1:admin',
      WEBHOOK_ALLOWED_HOSTS: 'hooks.allowed.test',
    });
    const api = apiClient(p.url, keys.all);
    for (const url of [
      'http://hooks.example.com/hook',
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://192.168.0.10/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[fe80::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://localhost/hook',
    ]) {
      const { response, error } = await api.POST('/v1/webhooks/endpoints', {
        body: { url, events: ['check.completed'] },
      });
      expect(response.status, url).toBe(400);
      expect(error?.issues?.[0]?.path).toBe('url');
    }
    for (const url of ['https://hooks.example.com/hook', 'http://hooks.allowed.test:8080/x']) {
      const { response } = await api.POST('/v1/webhooks/endpoints', {
        body: { url, events: ['run.completed'] },
      });
      expect(response.status, url).toBe(201);
    }
    const { data } = await api.GET('/v1/webhooks/endpoints');
    expect(data?.endpoints).toHaveLength(2);
    expect(JSON.stringify(data)).not.toContain('whsec_');
  });
});
