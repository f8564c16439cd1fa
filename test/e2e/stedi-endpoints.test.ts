/**
 * Both of Stedi's real-time endpoints through the whole path (REST → queue → worker → simulator →
 * status and result), one setting apart: a request in each shape, AAA 42 retried then failed, a
 * definitive AAA answer, a 429 put back without spending an attempt, and the producer's 400 for
 * what the configured endpoint cannot take (never enqueued); every completed check carries the
 * same normalized summary whichever endpoint answered.
 */
import { describe, expect, it } from 'vitest';
import { checkRequestSchema } from '../../src/shared/schemas/check-request.js';
import { convertRequest } from '../../src/shared/schemas/request-conversion.js';
import type { EligibilityEndpoint } from '../../src/shared/stedi-api.js';
import type { CheckSummary } from '../../src/shared/schemas/check-summary.js';
import { loadMockCatalog } from '../../src/simulator/mock-catalog.js';
import type { StartSimulatorOptions } from '../../src/simulator/server.js';
import { closedAfterEach } from '../support/closed-after-each.js';
import { checkRequest } from '../support/fixtures.js';
import { enqueuedCount, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

type Shape = EligibilityEndpoint;
const mocks = loadMockCatalog();

/** A request of the catalog (or the simulated member `memberId`) in `shape`. */
function inShape(shape: Shape, source: unknown): Record<string, unknown> {
  const converted = convertRequest(checkRequestSchema.parse(source), shape);
  if (!converted.ok) throw new Error('fixture does not convert');
  return converted.body;
}
const mock = (id: string) => mocks.find((m) => m.id === id)?.request;

interface View {
  id: string;
  status: string;
  attempts: number;
  result?: {
    planStatus?: { statusCode: string }[];
    plans?: { benefits: { statuses: { status: string }[] } }[];
    errors?: { code: string }[];
  };
  summary?: CheckSummary;
  failureReason?: string;
}

const keep = closedAfterEach();

async function stack(
  endpoint: Shape,
  settings: Record<string, string> = {},
  simulator: StartSimulatorOptions = {},
): Promise<{ w: WorkerEnv; p: ProducerEnv }> {
  const common = { STEDI_ELIGIBILITY_ENDPOINT: endpoint, ...settings };
  const w = keep(
    await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1', REALTIME_ATTEMPTS: '3', ...common },
      { concurrency: 2, latency: { medianMs: 20, sigma: 0, maxMs: 1_000 }, ...simulator },
    ),
  );
  const p = keep(await producerEnv({ ...w.deployment, ...common }));
  await w.startWorker();
  return { w, p };
}

async function submit(env: ProducerEnv, request: unknown, wait = 20) {
  const res = await env.call(`/v1/eligibility?wait=${wait}`, {
    method: 'POST',
    body: JSON.stringify({ request }),
  });
  return { status: res.status, view: (await res.json()) as View };
}

describe.each(['v3', '2026-06-01'] as const)('STEDI_ELIGIBILITY_ENDPOINT=%s', (endpoint) => {
  const coverage = (view: View) =>
    endpoint === 'v3'
      ? view.result?.planStatus?.[0]?.statusCode
      : view.result?.plans?.[0]?.benefits.statuses[0]?.status;

  it('completes a request in each shape, calling only the configured endpoint', async () => {
    const { w, p } = await stack(endpoint);
    for (const shape of ['v3', '2026-06-01'] as const) {
      const { status, view } = await submit(p, inShape(shape, mock('uhc')));
      expect(status, shape).toBe(200);
      expect(view.status, shape).toBe('completed');
      expect(coverage(view), shape).toBe(endpoint === 'v3' ? '1' : 'ACTIVE_COVERAGE');
      // The same summary whichever endpoint answered.
      expect(view.summary, shape).toMatchObject({
        answeredBy: endpoint,
        coverage: 'active',
        plan: { name: 'SIMULATED PPO', begin: '2026-01-01', end: '2026-12-31' },
        serviceTypes: ['30'],
        errors: [],
      });
      expect(view.summary?.benefits, shape).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'copay', network: 'in', amount: 25, serviceType: '30' }),
          expect.objectContaining({ type: 'copay', network: 'out', amount: 60 }),
          expect.objectContaining({ type: 'coinsurance', network: 'in', percent: 20 }),
          expect.objectContaining({ type: 'deductible', period: 'CALENDAR_YEAR', amount: 1500 }),
          expect.objectContaining({ type: 'deductible', period: 'REMAINING', amount: 600 }),
          expect.objectContaining({ type: 'outOfPocket', amount: 6000 }),
        ]),
      );
    }
    expect(w.simulator.stats().byEndpoint).toEqual({ [endpoint]: 2 });
  });

  it('retries AAA 42 with backoff, then fails naming it', async () => {
    const { w, p } = await stack(endpoint);
    const shape: Shape = endpoint === 'v3' ? '2026-06-01' : 'v3';
    const { status, view } = await submit(p, inShape(shape, mock('aaa-42')), 30);
    expect(status).toBe(200);
    expect(view.status).toBe('failed');
    expect(view.attempts).toBe(3);
    expect(view.failureReason).toContain('AAA 42');
    expect(w.simulator.stats().outcomes['aaa-42']).toBe(3);
  });

  it('completes a definitive AAA answer (75) at the first attempt', async () => {
    const { p } = await stack(endpoint);
    const { view } = await submit(p, inShape(endpoint, mock('aaa-75')));
    expect(view.status).toBe('completed');
    expect(view.attempts).toBe(1);
    expect(view.result?.errors?.[0]?.code).toBe('75');
    expect(view.summary).toMatchObject({
      answeredBy: endpoint,
      coverage: 'unknown',
      errors: [
        {
          code: '75',
          followupAction: 'Please Correct and Resubmit',
          advice: expect.stringContaining('did not find the subscriber'),
        },
      ],
    });
  });

  it('puts a 429 back to wait without spending an attempt', async () => {
    // The workers believe in 3 slots, the account has 1: every extra call meets a 429.
    const { w, p } = await stack(
      endpoint,
      { STEDI_CONCURRENCY: '3', STEDI_REALTIME_RESERVED: '0', REALTIME_ATTEMPTS: '1' },
      { concurrency: 1, latency: { medianMs: 150, sigma: 0, maxMs: 1_000 } },
    );
    const answers = await Promise.all(
      ['uhc', 'aetna', 'cigna'].map((id) => submit(p, inShape(endpoint, mock(id)), 30)),
    );
    for (const { view } of answers) expect(view.status).toBe('completed');
    expect(w.simulator.stats().rejected429).toBeGreaterThan(0);
  });

  it('refuses with a 400 naming the field what the endpoint cannot take, enqueuing nothing', async () => {
    const { p } = await stack(endpoint);
    const request =
      endpoint === 'v3'
        ? { ...inShape('2026-06-01', checkRequest()), eligibilitySearchId: 'es_1' }
        : { ...checkRequest(), subscriber: { memberId: 'M1', gender: 'U' } };
    const field = endpoint === 'v3' ? 'request.eligibilitySearchId' : 'request.subscriber.gender';
    const res = await p.call('/v1/eligibility', {
      method: 'POST',
      body: JSON.stringify({ request }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual([field]);
    const batch = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({ items: [checkRequest(), request] }),
    });
    expect(batch.status).toBe(400);
    expect(((await batch.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe(
      field.replace('request', 'items.1'),
    );
    expect(await enqueuedCount(p.queues)).toBe(0);
  });
});
