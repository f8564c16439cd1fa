import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerKeys } from '../../src/shared/scheduling/keys.js';
import { captureLogger } from '../support/leak-scan.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';

interface ErrorBody {
  error: string;
  issues?: { path: string; message: string }[];
}

// The clinic key carries a weight and a concurrency limit (API_KEYS' optional fields).
const apiKeys = `local:${keys.all}:submit+read+admin,clinic:${keys.submit}:submit:2:5,viewer:${keys.read}:read`;
const settings = {
  API_KEYS: apiKeys,
  STEDI_CONCURRENCY: '10',
  STEDI_REALTIME_RESERVED: '2',
  PAYER_CAPS: '87726=3',
};

let p: ProducerEnv;
const log = captureLogger();
beforeAll(async () => {
  p = await producerEnv(settings, { logger: log.logger });
});
afterAll(async () => {
  await p.close();
});

const put = (body: unknown, key: string | null = keys.all) =>
  p.call('/admin/limits', { method: 'PUT', body: JSON.stringify(body), key });
const auditLines = () =>
  log.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.action === 'set-limits');
const storedDoc = () => p.redis.get(`${p.config.QUEUE_PREFIX}:limits`);

describe('GET /v1/limits', () => {
  it('answers a read key with the configured limits and the scheduler state', async () => {
    // One check of payer 87726 for the clinic tenant, as a worker would record it.
    const k = new SchedulerKeys(p.config.QUEUE_PREFIX);
    const now = Date.now();
    await p.redis.zadd(k.active, now, 'payer:87726', now, 'tenant:clinic');
    await p.redis.zadd(k.held('payer', '87726'), now + 60_000, 'token-1');
    await p.redis.zadd(k.held('tenant', 'clinic'), now + 60_000, 'token-1');

    const res = await p.call('/v1/limits', { key: keys.read });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      overrides: {},
      updatedAt: null,
      updatedBy: null,
      effective: {
        allocation: 10,
        realtimeReserved: 2,
        payers: { defaultCap: '50%', caps: { '87726': 3 }, npiCap: 0 },
        tenants: { clinic: { weight: 2, maxConcurrency: 5 } },
        lending: { floor: 0, waitTargetMs: 100, waitPercentile: 99 },
      },
      state: {
        // No answer yet: it runs what every payer starts at (PAYER_INITIAL_CONCURRENCY, 2).
        payers: [{ payer: '87726', inFlight: 1, earnedConcurrency: 2, cap: 3, breaker: 'closed' }],
        tenants: [{ tenant: 'clinic', inFlight: 1, weight: 2, maxConcurrency: 5 }],
      },
    });

    const concurrency = await p.call('/v1/concurrency', { key: keys.read });
    expect(await concurrency.json()).toMatchObject({
      heldByPool: { realtime: 0, batch: 0 },
      byPayer: { '87726': 1 },
      byTenant: { clinic: 1 },
    });
  });

  it('answers 401 without a key', async () => {
    expect((await p.call('/v1/limits', { key: null })).status).toBe(401);
  });
});

describe('PUT /admin/limits', () => {
  it('refuses a key without the admin scope, and stores nothing', async () => {
    expect((await put({ lending: { floor: 1 } }, keys.read)).status).toBe(403);
    expect((await put({ lending: { floor: 1 } }, keys.submit)).status).toBe(403);
    expect((await put({ lending: { floor: 1 } }, null)).status).toBe(401);
    expect(await storedDoc()).toBeNull();
  });

  it('refuses bad fields with 400 naming each, and stores nothing', async () => {
    const cases: [unknown, string[]][] = [
      [{ payers: { caps: { '87726': 0 } } }, ['payers.caps.87726']],
      [{ payers: { defaultCap: 'half' } }, ['payers.defaultCap']],
      [
        { tenants: { clinic: { weight: -1, extra: 1 } } },
        ['tenants.clinic.weight', 'tenants.clinic'],
      ],
      // Above STEDI_REALTIME_RESERVED (2); named alongside the schema's own problems.
      [{ lending: { floor: 3, waitPercentile: 10 } }, ['lending.waitPercentile', 'lending.floor']],
      [{ lending: { floor: 3 } }, ['lending.floor']],
      // A lone surrogate in a tenant name (Redis's cjson could not read it back).
      [{ tenants: { '\ud800': { maxConcurrency: 1 } } }, ['tenants.\ud800']],
      [{ queues: {} }, ['(body)']],
      [[], ['(body)']],
    ];
    for (const [body, paths] of cases) {
      const res = await put(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as ErrorBody;
      expect(err.error).toBe('invalid limits');
      expect(err.issues?.map((i) => i.path).sort(), JSON.stringify(err)).toEqual(paths.sort());
    }
    expect(await storedDoc()).toBeNull();
  });

  it('answers 415 to a body that is not JSON', async () => {
    const res = await p.call('/admin/limits', {
      method: 'PUT',
      body: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
  });

  it('stores the overrides, applies them at once, audits the change, and persists', async () => {
    const overrides = {
      payers: { defaultCap: '25%', caps: { '87726': 1, OSCAR: '40%' } },
      tenants: { clinic: { weight: 4 } },
      lending: { floor: 1 },
    };
    const res = await put(overrides);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const expected = {
      overrides,
      updatedAt: expect.any(String),
      updatedBy: 'local',
      effective: {
        allocation: 10,
        realtimeReserved: 2,
        payers: { defaultCap: '25%', caps: { '87726': 1, OSCAR: '40%' }, npiCap: 0 },
        // The override sets the weight; the limit from API_KEYS stays.
        tenants: { clinic: { weight: 4, maxConcurrency: 5 } },
        lending: { floor: 1, waitTargetMs: 100, waitPercentile: 99 },
      },
      state: expect.any(Object),
    };
    expect(body).toMatchObject(expected);
    expect((body.state as { payers: { cap: number }[] }).payers[0]?.cap).toBe(1);
    expect(await (await p.call('/v1/limits', { key: keys.read })).json()).toMatchObject(expected);

    expect(auditLines()).toEqual([
      expect.objectContaining({
        audit: true,
        actor: 'local',
        changed: ['payers', 'tenants', 'lending'],
      }),
    ]);
    expect(log.lines.join('\n')).not.toContain(keys.all);

    // Another producer on the same Redis and prefix starts with the stored overrides.
    const other = await producerEnv({ ...settings, QUEUE_PREFIX: p.config.QUEUE_PREFIX });
    try {
      const seen = await other.call('/v1/limits', { key: keys.read });
      expect(await seen.json()).toMatchObject(expected);
    } finally {
      await other.close();
    }
  });

  it('replaces the whole document: what a PUT leaves out falls back to configuration', async () => {
    const res = await put({ lending: { floor: 2 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { effective: Record<string, unknown> };
    expect(body.effective).toMatchObject({
      payers: { defaultCap: '50%', caps: { '87726': 3 } },
      tenants: { clinic: { weight: 2, maxConcurrency: 5 } },
      lending: { floor: 2 },
    });
    expect(auditLines().at(-1)).toMatchObject({ changed: ['payers', 'tenants', 'lending'] });
  });
});

describe('OpenAPI document', () => {
  it('documents the limits endpoints with their 4xx answers', async () => {
    const doc = (await (await p.call('/openapi.json', { key: null })).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    // 400 and 413: every route parses a JSON body sent with a JSON content type.
    expect(Object.keys(doc.paths['/v1/limits']!.get!.responses).sort()).toEqual(
      ['200', '400', '401', '403', '413'].sort(),
    );
    expect(Object.keys(doc.paths['/admin/limits']!.put!.responses).sort()).toEqual(
      ['200', '400', '401', '403', '413', '415'].sort(),
    );
    expect(Object.keys(doc.paths['/v1/concurrency']!.get!.responses)).toContain('403');
  });
});
