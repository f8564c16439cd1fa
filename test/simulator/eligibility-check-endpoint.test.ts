/**
 * The simulated `POST /2026-06-01/eligibility-check`: Stedi's SDK shapes, v3's behaviours (one
 * allocation shared with v3, 429, no cancel on hang-up, faults), and test-key mode with Stedi's
 * documented mock requests in the new shape.
 */
import { describe, expect, it } from 'vitest';
import { checkRequestSchema } from '../../src/shared/schemas/check-request.js';
import { convertRequest } from '../../src/shared/schemas/request-conversion.js';
import { ELIGIBILITY_CHECK_PATH, ELIGIBILITY_V3_PATH } from '../../src/shared/stedi-api.js';
import { loadMockCatalog, outcomeOf } from '../../src/simulator/mock-catalog.js';
import type { Simulator } from '../../src/simulator/server.js';
import { checkRequest } from '../support/fixtures.js';
import { simulatorPerTest } from '../support/simulator-per-test.js';

const request = {
  payerId: '87726',
  provider: { name: { organization: 'ACME Health Services' }, npi: '1999999984' },
  subscriber: {
    name: { person: { firstName: 'Jane', lastName: 'Doe' } },
    memberId: 'M123456',
    dateOfBirth: '1980-01-01',
  },
  encounter: { services: [{ value: '30', system: 'STC' }] },
};

const start = simulatorPerTest();

function post(
  s: Simulator,
  body: unknown,
  key = 'dev-key',
  path = ELIGIBILITY_CHECK_PATH,
  signal?: AbortSignal,
) {
  return fetch(s.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: key },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

interface Answer {
  id: string;
  payerId: string;
  plans?: { name: string; benefits: { statuses: { status: string; coverageLevel: string }[] } }[];
  errors: { code: string; followupAction: string }[];
  message?: string;
}

describe('simulated 2026-06-01 endpoint', () => {
  it('answers in the SDK shape: ec_ id, plans with benefits per type, errors', async () => {
    const s = await start();
    const res = await post(s, request);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Answer & Record<string, unknown>;
    expect(body.id).toMatch(/^ec_[0-9a-f-]{36}$/);
    expect(body).toMatchObject({ payerId: '87726', x12: expect.any(String), payer: { name: {} } });
    expect(body.plans?.[0]?.benefits.statuses[0]).toMatchObject({
      status: 'ACTIVE_COVERAGE',
      coverageLevel: 'INDIVIDUAL',
      service: { value: '30', system: 'STC' },
    });
    expect(body.plans?.[0]?.benefits).toHaveProperty('coPayment');
    expect(body.plans?.[0]?.benefits).toHaveProperty('deductible');
    expect(s.stats().byEndpoint).toEqual({ '2026-06-01': 1 });
  });

  it('answers 400 naming rejected fields by JSON pointer, 401 without a key, 400 for payer 33', async () => {
    const s = await start();
    const res = await post(s, { ...request, provider: { name: {}, npi: '12' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { path: string }[] };
    expect(body.errors.map((e) => e.path)).toContain('/provider/npi');
    expect((await post(s, request, 'nope')).status).toBe(401);
    const unknown = await post(s, { ...request, payerId: 'NOPAYER' });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { errors: { path: string }[] }).errors[0]?.path).toBe(
      '/payerId',
    );
  });

  it('shares one allocation with v3: 429 at once past it, counted per endpoint', async () => {
    const s = await start({ concurrency: 2, latency: { medianMs: 300, sigma: 0, maxMs: 1_000 } });
    const answers = await Promise.all([
      post(s, request),
      post(s, checkRequest(), 'dev-key', ELIGIBILITY_V3_PATH),
      post(s, request),
      post(s, checkRequest(), 'dev-key', ELIGIBILITY_V3_PATH),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]);
    const throttled = answers.find((a) => a.status === 429);
    expect(((await throttled?.json()) as { message: string }).message).toContain('Concurrency');
    expect(s.stats()).toMatchObject({
      maxInFlight: 2,
      rejected429: 2,
      byEndpoint: { v3: 2, '2026-06-01': 2 },
    });
  });

  it('keeps the slot of a client that hung up until its latency has passed', async () => {
    const s = await start({ concurrency: 1, latency: { medianMs: 500, sigma: 0, maxMs: 1_000 } });
    const controller = new AbortController();
    const first = post(s, request, 'dev-key', ELIGIBILITY_CHECK_PATH, controller.signal).catch(
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    expect(await first).toBeInstanceOf(Error);
    expect((await post(s, request)).status).toBe(429);
    await new Promise((r) => setTimeout(r, 550));
    expect((await post(s, request)).status).toBe(200);
    expect(s.stats().outcomes['client-gone']).toBe(1);
  });

  it('injects AAA 42 and 5xx faults as v3 does', async () => {
    const s = await start({ faults: { aaa42: 1, http5xx: 0, slow: 0, reset: 0 } });
    const body = (await (await post(s, request)).json()) as Answer;
    expect(body.errors[0]).toMatchObject({ code: '42', followupAction: 'Resubmission Allowed' });
    await s.close();
    const t = await start({ faults: { aaa42: 0, http5xx: 1, slow: 0, reset: 0 } });
    expect([500, 503, 504]).toContain((await post(t, request)).status);
  });

  it("gives Stedi's mock requests, in the new shape, their documented outcomes under a test key", async () => {
    const s = await start({ concurrency: 50 });
    for (const mock of loadMockCatalog()) {
      const converted = convertRequest(checkRequestSchema.parse(mock.request), '2026-06-01');
      if (!converted.ok) throw new Error(mock.id);
      const res = await post(s, converted.body, 'test_dev-key');
      expect(res.status, mock.id).toBe(200);
      const body = (await res.json()) as Answer;
      const expected = outcomeOf(mock);
      if (expected.kind === 'aaa') expect(body.errors[0]?.code, mock.id).toBe(expected.code);
      else
        expect(body.plans?.[0]?.benefits.statuses[0]?.status, mock.id).toBe(
          expected.kind === 'active' ? 'ACTIVE_COVERAGE' : 'INACTIVE',
        );
    }
    const refused = await post(s, request, 'test_dev-key');
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as Answer).message).toContain('mock requests');
  });
});
