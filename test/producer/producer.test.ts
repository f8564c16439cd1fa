import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { enqueuedCount, keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';

let p: ProducerEnv;
beforeAll(async () => {
  p = await producerEnv({
    BATCH_MAX_ITEMS: '5',
    BATCH_BACKLOG_LIMIT: '8',
    BODY_LIMIT_BYTES: '20000',
  });
});
afterAll(async () => {
  await p.close();
});

const post = (
  body: unknown,
  init: { key?: string | null; headers?: Record<string, string> } = {},
) => p.call('/v1/eligibility', { method: 'POST', body: JSON.stringify(body), ...init });

interface ErrorBody {
  error: string;
  issues?: { path: string; message: string }[];
}

describe('producer: health and documents', () => {
  it('serves /healthz and /readyz without a key', async () => {
    expect((await p.call('/healthz', { key: null })).status).toBe(200);
    const ready = await p.call('/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ redis: 'ok', dynamodb: 'ok' });
  });

  it('serves an OpenAPI 3.1 document generated from the schemas', async () => {
    const doc = (await (await p.call('/openapi.json', { key: null })).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/eligibility/batch');
    expect(doc.components.schemas.SubmitCheck?.properties).toHaveProperty('request');
  });

  it('serves Prometheus metrics with queue depth by priority and state', async () => {
    const text = await (await p.call('/metrics', { key: null })).text();
    expect(text).toMatch(/eq_queue_jobs\{priority="batch",state="waiting"\}/);
    expect(text).toContain('eq_http_requests_total');
  });

  it('shows semaphore holders by pool at /v1/concurrency', async () => {
    const res = await p.call('/v1/concurrency');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ heldByPool: { realtime: 0, batch: 0 }, holders: [] });
  });
});

describe('producer: auth', () => {
  it('answers 401 without or with an unknown key, 403 without the scope', async () => {
    expect((await post({ request: checkRequest() }, { key: null })).status).toBe(401);
    expect((await post({ request: checkRequest() }, { key: 'not-a-key-at-all' })).status).toBe(401);
    const forbidden = await post({ request: checkRequest() }, { key: keys.read });
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as ErrorBody).error).toContain('submit');
    expect((await p.call('/admin/mode', { key: keys.submit })).status).toBe(403);
  });
});

describe('producer: submitting checks', () => {
  it('accepts a check (realtime by default) with 202 and reads it back', async () => {
    const res = await post({ request: checkRequest() }, { key: keys.submit });
    expect(res.status).toBe(202);
    const body = (await res.json()) as {
      id: string;
      status: string;
      priority: string;
      links: { self: string };
    };
    expect(body).toMatchObject({ status: 'waiting', priority: 'realtime' });
    expect(res.headers.get('location')).toBe(body.links.self);
    const job = await p.queues.get(body.id);
    expect(
      (p.queues.cipher.open(job!.data.request) as { subscriber: { memberId: string } }).subscriber
        .memberId,
    ).toBe('SIM0000001');
    const read = await p.call(body.links.self, { key: keys.read });
    expect(await read.json()).toMatchObject({ id: body.id, status: 'waiting', attempts: 0 });
  });

  it('refuses invalid input with 400 naming the field, and enqueues nothing', async () => {
    const before = await enqueuedCount(p.queues);
    const cases: [unknown, string][] = [
      [
        { request: { ...checkRequest(), provider: { organizationName: 'X', npi: '1234567891' } } },
        'request.provider.npi',
      ],
      [
        { request: { ...checkRequest(), subscriber: { memberId: 'M1', dateOfBirth: '20230230' } } },
        'request.subscriber.dateOfBirth',
      ],
      [
        { request: { ...checkRequest(), subscriber: { firstName: 'Jo' } } },
        'request.subscriber.memberId',
      ],
      [
        { request: { ...checkRequest(), tradingPartnerServiceId: '' } },
        'request.tradingPartnerServiceId',
      ],
      [{ priority: 'urgent', request: checkRequest() }, 'priority'],
      [{ request: checkRequest(), extra: 1 }, '(body)'],
      [{}, 'request'],
    ];
    for (const [body, path] of cases) {
      const res = await post(body);
      expect(res.status, path).toBe(400);
      const err = (await res.json()) as ErrorBody;
      expect(
        err.issues?.map((i) => i.path),
        JSON.stringify(err),
      ).toContain(path);
    }
    expect(await enqueuedCount(p.queues)).toBe(before);
  });

  it('answers malformed JSON with 400, a wrong content type with 415, a huge body with 413', async () => {
    const malformed = await p.call('/v1/eligibility', {
      method: 'POST',
      body: '{"request": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    const text = await p.call('/v1/eligibility', {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const huge = await post({ request: { ...checkRequest(), padding: 'x'.repeat(30_000) } });
    expect(huge.status).toBe(413);
  });

  it('returns the same check for a repeated Idempotency-Key, and 409 for another body', async () => {
    const headers = { 'idempotency-key': 'visit-42' };
    const a = (await (await post({ request: checkRequest('IDEM1') }, { headers })).json()) as {
      id: string;
    };
    const b = (await (await post({ request: checkRequest('IDEM1') }, { headers })).json()) as {
      id: string;
    };
    expect(b.id).toBe(a.id);
    const conflict = await post({ request: checkRequest('IDEM2') }, { headers });
    expect(conflict.status).toBe(409);
  });

  it('cancels a check that has not started, and 404s unknown ids', async () => {
    const { id } = (await (await post({ priority: 'batch', request: checkRequest() })).json()) as {
      id: string;
    };
    const del = await p.call(`/v1/eligibility/${id}`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ id, status: 'cancelled' });
    expect((await p.call(`/v1/eligibility/${id}`)).status).toBe(404);
    expect((await p.call('/v1/eligibility/rt_nope')).status).toBe(404);
  });
});

describe('producer: batches, back-pressure and modes', () => {
  it('accepts a valid batch, refuses a batch with one bad item listing it by index, enqueuing nothing', async () => {
    await p.queues.queues.batch.drain(true);
    const ok = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({ items: [checkRequest('B1'), checkRequest('B2')] }),
    });
    expect(ok.status).toBe(202);
    expect(((await ok.json()) as { count: number }).count).toBe(2);
    const before = await enqueuedCount(p.queues);
    const bad = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({
        items: [
          checkRequest('B3'),
          { ...checkRequest('B4'), provider: { organizationName: 'X', npi: '12' } },
        ],
      }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).issues?.map((i) => i.path)).toContain(
      'items.1.provider.npi',
    );
    const tooMany = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({ items: Array.from({ length: 6 }, (_, i) => checkRequest(`B${i}`)) }),
    });
    expect(tooMany.status).toBe(400);
    expect(await enqueuedCount(p.queues)).toBe(before);
  });

  it('answers 429 with Retry-After once the batch backlog is over its limit', async () => {
    await p.queues.queues.batch.drain(true);
    const items = Array.from({ length: 5 }, (_, i) => checkRequest(`BP${i}`));
    expect(
      (await p.call('/v1/eligibility/batch', { method: 'POST', body: JSON.stringify({ items }) }))
        .status,
    ).toBe(202);
    const full = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({ items }),
    });
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBeTruthy();
    await p.queues.queues.batch.drain(true);
  });

  it('refuses new work with 503 while draining or in maintenance, which also pauses the queues', async () => {
    const set = (mode: string) =>
      p.call('/admin/mode', { method: 'POST', body: JSON.stringify({ mode }) });
    expect((await set('draining')).status).toBe(200);
    const refused = await post({ request: checkRequest() });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    await set('maintenance');
    expect(await p.queues.queues.realtime.isPaused()).toBe(true);
    await set('normal');
    expect(await p.queues.queues.realtime.isPaused()).toBe(false);
    expect((await post({ request: checkRequest() })).status).toBe(202);
    expect((await set('sideways')).status).toBe(400);
  });
});
