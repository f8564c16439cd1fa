import { describe, expect, it } from 'vitest';
import { loadMockCatalog, outcomeOf } from '../../src/simulator/mock-catalog.js';
import { loadSimulatorEnv } from '../../src/simulator/options.js';
import { ConfigError } from '../../src/shared/errors/config-error.js';
import { ELIGIBILITY_V3_PATH } from '../../src/shared/stedi-api.js';
import type { Simulator } from '../../src/simulator/server.js';
import { simulatorPerTest } from '../support/simulator-per-test.js';

const validRequest = {
  controlNumber: '123456789',
  tradingPartnerServiceId: '87726',
  provider: { organizationName: 'ACME Health Services', npi: '1999999984' },
  subscriber: { firstName: 'Jane', lastName: 'Doe', dateOfBirth: '19800101', memberId: 'M123456' },
  encounter: { serviceTypeCodes: ['30'] },
};

const start = simulatorPerTest();

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

describe('Stedi simulator per-payer profiles', () => {
  const to = (payer: string) => ({ ...validRequest, tradingPartnerServiceId: payer });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  async function timed(s: Simulator, body: unknown) {
    const t0 = Date.now();
    const res = await post(s, body);
    const json = (await res.json()) as { errors?: { code: string }[] };
    return { status: res.status, code: json.errors?.[0]?.code, ms: Date.now() - t0 };
  }

  it("applies a payer's latency, time-scaled, to that payer only, and accepts it though unknown", async () => {
    const s = await start({
      timeScale: 0.5,
      latency: { medianMs: 10, sigma: 0, maxMs: 1_000 },
      payers: { SLOW: { latency: { medianMs: 600, sigma: 0 } } },
    });
    const [slow, other] = await Promise.all([timed(s, to('SLOW')), timed(s, validRequest)]);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(290);
    expect(slow.ms).toBeLessThan(550);
    expect(other.ms).toBeLessThan(150);
  });

  it('caps a payer latency at its own maxMs, else at the global bound', async () => {
    const s = await start({
      latency: { medianMs: 5, sigma: 0, maxMs: 300 },
      payers: {
        OWNCAP: { latency: { medianMs: 5_000, sigma: 0, maxMs: 100 } },
        GLOBALCAP: { latency: { medianMs: 5_000, sigma: 0 } },
      },
    });
    const [own, global] = await Promise.all([timed(s, to('OWNCAP')), timed(s, to('GLOBALCAP'))]);
    expect(own.ms).toBeGreaterThanOrEqual(95);
    expect(own.ms).toBeLessThan(250);
    expect(global.ms).toBeGreaterThanOrEqual(295);
  });

  it('answers AAA 42 after afterMs during an outage, holding the slot meanwhile', async () => {
    const s = await start({
      concurrency: 1,
      payers: { DOWN: { outage: { aaa: '42', afterMs: 400 } } },
    });
    const down = timed(s, to('DOWN'));
    // From when the simulator has the call: under a loaded suite the request can take longer
    // than the margin below to arrive.
    while (s.stats().byPayer.DOWN?.started !== 1) await sleep(5);
    await sleep(150);
    expect((await post(s, validRequest)).status).toBe(429);
    const during = s.stats().byPayer.DOWN;
    expect(during).toMatchObject({ started: 1, finished: 0, inFlight: 1, maxInFlight: 1 });
    expect(during?.busySlotMs).toBeGreaterThanOrEqual(140);
    const answer = await down;
    expect(answer).toMatchObject({ status: 200, code: '42' });
    expect(answer.ms).toBeGreaterThanOrEqual(395);
    expect((await post(s, validRequest)).status).toBe(200);
  });

  it('answers an HTTP status instead when the outage sets one, time-scaled', async () => {
    const s = await start({
      timeScale: 2,
      payers: { DOWN: { outage: { status: 503, afterMs: 100 } } },
    });
    const answer = await timed(s, to('DOWN'));
    expect(answer.status).toBe(503);
    expect(answer.ms).toBeGreaterThanOrEqual(195);
    expect(s.stats().byPayer.DOWN?.outcomes).toEqual({ '503': 1 });
  });

  it('answers normally before and after the outage window', async () => {
    const s = await start({
      payers: { DOWN: { outage: { aaa: '80', afterMs: 20, fromMs: 300, untilMs: 700 } } },
    });
    const t0 = Date.now();
    expect((await timed(s, to('DOWN'))).code).not.toBe('80');
    await sleep(450 - (Date.now() - t0));
    expect(await timed(s, to('DOWN'))).toMatchObject({ status: 200, code: '80' });
    await sleep(850 - (Date.now() - t0));
    const after = await timed(s, to('DOWN'));
    expect(after.status).toBe(200);
    expect(after.code).not.toBe('80');
    expect(after.ms).toBeLessThan(100);
  });

  it('counts started, finished, busy slot-time and outcomes per payer, over HTTP too, and resets', async () => {
    const s = await start({
      concurrency: 4,
      payers: { SLOW: { latency: { medianMs: 200, sigma: 0 } } },
    });
    s.resetStats();
    await Promise.all([post(s, to('SLOW')), post(s, to('SLOW')), post(s, validRequest)]);
    const stats = (await (await fetch(`${s.url}/__stats`)).json()) as ReturnType<
      Simulator['stats']
    >;
    const slow = stats.byPayer.SLOW;
    expect(slow).toMatchObject({ started: 2, finished: 2, inFlight: 0, maxInFlight: 2 });
    expect(slow?.busySlotMs).toBeGreaterThanOrEqual(390);
    expect(slow?.busySlotMs).toBeLessThan(600);
    expect(Object.values(slow?.outcomes ?? {}).reduce((a, b) => a + b, 0)).toBe(2);
    expect(stats.byPayer['87726']).toMatchObject({ started: 1, finished: 1, maxInFlight: 1 });
    expect(stats.byPayer['87726']?.busySlotMs).toBeLessThan(100);
    expect(stats.busySlotMs).toBeGreaterThanOrEqual(slow?.busySlotMs ?? 0);
    s.resetStats();
    expect(s.stats().byPayer).toEqual({});
  });
});

describe('SIMULATOR_PAYER_PROFILES', () => {
  it('reads the documented form', () => {
    const { options } = loadSimulatorEnv({
      SIMULATOR_PAYER_PROFILES:
        'SLOWPAYER=latency:8000/0.3, DOWNPAYER=outage:aaa42/6000/0-30000,BOTH=latency:100/0/500+outage:503/2000/5000-',
    });
    expect(options.payers).toEqual({
      SLOWPAYER: { latency: { medianMs: 8000, sigma: 0.3 } },
      DOWNPAYER: { outage: { aaa: '42', afterMs: 6000, fromMs: 0, untilMs: 30000 } },
      BOTH: {
        latency: { medianMs: 100, sigma: 0, maxMs: 500 },
        outage: { status: 503, afterMs: 2000, fromMs: 5000 },
      },
    });
    expect(loadSimulatorEnv({}).options.payers).toEqual({});
  });

  it.each([
    'X=latency:abc/1',
    'X=latency:100',
    'X=outage:aaa43/100',
    'X=outage:aaa42/100/500-200',
    'X=slow:100',
    'latency:100/1',
    'X=latency:1/1,X=outage:503/1',
  ])('refuses %s, naming the variable and the entry', (spec) => {
    const bad = spec.split(',').at(-1) ?? spec;
    let error: unknown;
    try {
      loadSimulatorEnv({ SIMULATOR_PAYER_PROFILES: spec });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('SIMULATOR_PAYER_PROFILES');
    expect((error as ConfigError).message).toContain(`"${bad}"`);
  });
});
