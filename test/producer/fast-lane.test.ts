/**
 * POST /v1/eligibility is answered by the fast lane on node:http, POST /v1/eligibility/ by the
 * Express route. Every outcome must be the same on both: status, body, and headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { enqueuedCount, keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';

let p: ProducerEnv;
beforeAll(async () => {
  p = await producerEnv({ BODY_LIMIT_BYTES: '20000', MAX_WAIT_SECONDS: '5' });
});
afterAll(async () => {
  await p.close();
});

interface Case {
  readonly name: string;
  readonly body: string;
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly key?: string | null;
  readonly status: number;
}

const valid = JSON.stringify({ priority: 'batch', request: checkRequest('LANE1') });
const cases: Case[] = [
  { name: 'a valid check', body: valid, status: 202 },
  {
    name: 'a valid check with a charset',
    body: valid,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    status: 202,
  },
  { name: 'malformed JSON', body: '{"request": ', status: 400 },
  {
    name: 'a wrong content type',
    body: 'hello',
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  {
    name: 'a body over the limit',
    body: JSON.stringify({ request: { ...checkRequest(), padding: 'x'.repeat(30_000) } }),
    status: 413,
  },
  { name: 'no API key', body: valid, key: null, status: 401 },
  { name: 'a key without the submit scope', body: valid, key: keys.read, status: 403 },
  {
    name: 'a failing NPI check digit',
    body: JSON.stringify({
      request: { ...checkRequest(), provider: { organizationName: 'X', npi: '1234567891' } },
    }),
    status: 400,
  },
  { name: 'a bad wait', body: valid, query: '?wait=soon', status: 400 },
  { name: 'a repeated wait', body: valid, query: '?wait=1&wait=2', status: 400 },
  {
    name: 'an Idempotency-Key over 200 characters',
    body: valid,
    headers: { 'idempotency-key': 'k'.repeat(201) },
    status: 400,
  },
];

const mask = (s: string) =>
  s.replace(/(rt|bt)_[0-9a-f-]{36}/g, '<id>').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>');

/** What must be equal on both lanes: ids and times differ per check, so they are masked. */
async function outcome(path: string, c: Case) {
  const res = await p.call(`${path}${c.query ?? ''}`, {
    method: 'POST',
    body: c.body,
    ...(c.key !== undefined ? { key: c.key } : {}),
    headers: { 'content-type': 'application/json', ...c.headers },
  });
  const text = mask(await res.text());
  const pick = (h: string) => {
    const v = res.headers.get(h);
    return v === null ? undefined : mask(v);
  };
  return {
    status: res.status,
    body: JSON.parse(text) as unknown,
    headers: Object.fromEntries(
      [
        'content-type',
        'location',
        'www-authenticate',
        'x-content-type-options',
        'x-frame-options',
        'referrer-policy',
        'cache-control',
        'x-powered-by',
        'etag',
      ].map((h) => [h, pick(h)]),
    ),
  };
}

describe('the submit fast lane answers exactly as the Express route', () => {
  it.each(cases)('$name', async (c) => {
    const before = await enqueuedCount(p.queues);
    const fast = await outcome('/v1/eligibility', c);
    const express = await outcome('/v1/eligibility/', c);
    expect(fast.status).toBe(c.status);
    expect(fast).toEqual(express);
    expect(fast.headers['x-content-type-options']).toBe('nosniff');
    expect(await enqueuedCount(p.queues)).toBe(before + (c.status === 202 ? 2 : 0));
  });

  it('waits for the answer on the fast lane too', async () => {
    const res = await p.call('/v1/eligibility?wait=1', { method: 'POST', body: valid });
    // No worker runs here: after the wait the check is still waiting, so 202.
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'waiting', priority: 'batch' });
  });

  it('counts both lanes under one route label in /metrics', async () => {
    const text = await (await p.call('/metrics', { key: null })).text();
    expect(text).toMatch(
      /eq_http_requests_total\{method="POST",route="\/v1\/eligibility",status="202"\} \d+/,
    );
    expect(text).toMatch(
      /eq_http_requests_total\{method="POST",route="\/v1\/eligibility",status="415"\} 2/,
    );
  });
});
