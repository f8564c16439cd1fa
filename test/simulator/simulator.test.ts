import { afterEach, describe, expect, it } from 'vitest';
import { loadMockCatalog, outcomeOf } from '../../src/simulator/mock-catalog.js';
import { ELIGIBILITY_V3_PATH } from '../../src/shared/stedi-api.js';
import {
  startSimulator,
  type Simulator,
  type StartSimulatorOptions,
} from '../../src/simulator/server.js';

const validRequest = {
  controlNumber: '123456789',
  tradingPartnerServiceId: '87726',
  provider: { organizationName: 'ACME Health Services', npi: '1999999984' },
  subscriber: { firstName: 'Jane', lastName: 'Doe', dateOfBirth: '19800101', memberId: 'M123456' },
  encounter: { serviceTypeCodes: ['30'] },
};

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: StartSimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ latency: { medianMs: 5, sigma: 0, maxMs: 1_000 }, ...options });
  return sim;
}

function post(s: Simulator, body: unknown, key: string | null = 'dev-key', signal?: AbortSignal) {
  return fetch(s.url + ELIGIBILITY_V3_PATH, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: key }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

describe('Stedi simulator contract', () => {
  it('answers 401 without a key or with an unknown one, and accepts the raw key or "Key <key>"', async () => {
    const s = await start();
    expect((await post(s, validRequest, null)).status).toBe(401);
    expect((await post(s, validRequest, 'nope')).status).toBe(401);
    expect((await post(s, validRequest, 'dev-key')).status).toBe(200);
    expect((await post(s, validRequest, 'Key dev-key')).status).toBe(200);
  });

  it('answers 400 naming the field for an invalid body, and for malformed JSON', async () => {
    const s = await start();
    const res = await post(s, { ...validRequest, provider: { organizationName: 'X', npi: '12' } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { field: string }[] };
    expect(body.errors.map((e) => e.field)).toContain('provider.npi');
    expect((await post(s, '{not json')).status).toBe(400);
  });

  it('answers an unknown payer with 400 and Stedi error code 33', async () => {
    const s = await start();
    const res = await post(s, { ...validRequest, tradingPartnerServiceId: 'FOO' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as {
      errors: { code: string; description: string }[];
      status: string;
    };
    expect(body.status).toBe('ERROR');
    expect(body.errors[0]?.code).toBe('33');
    expect(body.errors[0]?.description).toContain('FOO');
  });

  it('answers a Stedi-shaped 200 with traceId, controlNumber, planStatus and benefits', async () => {
    const s = await start();
    const body = (await (await post(s, validRequest)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      meta: { traceId: expect.any(String) },
      controlNumber: '123456789',
    });
    expect(Array.isArray(body.planStatus)).toBe(true);
    expect(Array.isArray(body.benefitsInformation)).toBe(true);
    expect(Array.isArray(body.errors)).toBe(true);
  });

  it('gives the same outcome to the same member every time', async () => {
    const s = await start();
    const outcomes = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const body = (await (await post(s, validRequest)).json()) as {
        planStatus: { statusCode: string }[];
        errors: { code: string }[];
      };
      outcomes.add(JSON.stringify([body.planStatus[0]?.statusCode, body.errors[0]?.code]));
    }
    expect(outcomes.size).toBe(1);
  });
});

describe('Stedi simulator concurrency', () => {
  it('answers 429 at once past the allocation and never has more in flight', async () => {
    const s = await start({ concurrency: 3, latency: { medianMs: 400, sigma: 0, maxMs: 1_000 } });
    const started = Date.now();
    const timed = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await post(s, validRequest);
        return { status: res.status, ms: Date.now() - started };
      }),
    );
    const ok = timed.filter((t) => t.status === 200);
    const rejected = timed.filter((t) => t.status === 429);
    expect(ok).toHaveLength(3);
    expect(rejected).toHaveLength(17);
    for (const r of rejected) expect(r.ms).toBeLessThan(350);
    const stats = s.stats();
    expect(stats.maxInFlight).toBe(3);
    expect(stats.rejected429).toBe(17);
  });

  it('keeps the slot of a client that hung up until its latency has passed', async () => {
    const s = await start({ concurrency: 1, latency: { medianMs: 600, sigma: 0, maxMs: 1_000 } });
    const controller = new AbortController();
    const first = post(s, validRequest, 'dev-key', controller.signal).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    controller.abort();
    expect(await first).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100));
    expect((await post(s, validRequest)).status).toBe(429);
    expect(s.stats().inFlight).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect((await post(s, validRequest)).status).toBe(200);
    expect(s.stats().outcomes['client-gone']).toBe(1);
  });

  it('reports busy slot-time and utilization, and resets', async () => {
    const s = await start({ concurrency: 2, latency: { medianMs: 200, sigma: 0, maxMs: 1_000 } });
    s.resetStats();
    await Promise.all([post(s, validRequest), post(s, validRequest)]);
    const stats = (await (await fetch(`${s.url}/__stats`)).json()) as {
      busySlotMs: number;
      utilization: number;
      requests: number;
    };
    expect(stats.requests).toBe(2);
    expect(stats.busySlotMs).toBeGreaterThanOrEqual(390);
    expect(stats.utilization).toBeGreaterThan(0.5);
    await fetch(`${s.url}/__stats/reset`, { method: 'POST' });
    expect(s.stats().requests).toBe(0);
  });
});

describe('Stedi simulator test mode and mock requests', () => {
  const catalog = loadMockCatalog();

  it('returns the documented outcome for each of the 34 mock requests', async () => {
    const s = await start({ concurrency: 50 });
    expect(catalog).toHaveLength(34);
    for (const mock of catalog) {
      const res = await post(s, mock.request, 'test_dev-key');
      expect(res.status, mock.id).toBe(200);
      const body = (await res.json()) as {
        planStatus: { statusCode: string }[];
        errors: { code: string }[];
      };
      const expected = outcomeOf(mock);
      if (expected.kind === 'aaa') expect(body.errors[0]?.code, mock.id).toBe(expected.code);
      else {
        expect(body.errors, mock.id).toEqual([]);
        expect(body.planStatus[0]?.statusCode, mock.id).toBe(
          expected.kind === 'active' ? '1' : '6',
        );
      }
    }
  });

  it('refuses a non-mock request under a test key', async () => {
    const s = await start();
    expect((await post(s, validRequest, 'test_dev-key')).status).toBe(400);
  });
});

describe('Stedi simulator fault injection', () => {
  it('injects AAA 42', async () => {
    const s = await start({ faults: { aaa42: 1, http5xx: 0, slow: 0, reset: 0 } });
    const body = (await (await post(s, validRequest)).json()) as { errors: { code: string }[] };
    expect(body.errors[0]?.code).toBe('42');
  });

  it('injects 5xx answers', async () => {
    const s = await start({ faults: { aaa42: 0, http5xx: 1, slow: 0, reset: 0 } });
    expect([500, 503, 504]).toContain((await post(s, validRequest)).status);
  });

  it('injects connection resets after holding the slot', async () => {
    const s = await start({ faults: { aaa42: 0, http5xx: 0, slow: 0, reset: 1 } });
    await expect(post(s, validRequest)).rejects.toThrow();
    expect(s.stats().outcomes.reset).toBe(1);
  });

  it('injects slow answers at the bound', async () => {
    const s = await start({
      latency: { medianMs: 1, sigma: 0, maxMs: 600 },
      faults: { aaa42: 0, http5xx: 0, slow: 1, reset: 0 },
    });
    const t0 = Date.now();
    expect((await post(s, validRequest)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(590);
  });
});
