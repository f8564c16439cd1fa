/**
 * The answer cache through the whole path: an identical check is answered from the cache with no
 * Stedi call and the same answer; identical checks in flight share one call; `Cache-Control:
 * no-cache` refuses cached answers; failures are not cached; with the cache off (the default)
 * every check calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import type { components } from '../support/api-types.js';
import { checkRequest } from '../support/fixtures.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

type Request = components['schemas']['SubmitCheck']['request'];
const request = (memberId: string, payer = '87726', controlNumber = '123456789') =>
  ({ ...checkRequest(memberId, payer), controlNumber }) as Request;

let w: WorkerEnv | undefined;
let p: ProducerEnv | undefined;
afterEach(async () => {
  await p?.close();
  await w?.close();
  p = w = undefined;
});

async function stack(cacheSeconds: string) {
  const settings = { ANSWER_CACHE_MAX_AGE_SECONDS: cacheSeconds };
  w = await workerEnv(
    { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1', ...settings },
    { concurrency: 2, latency: { medianMs: 300, sigma: 0, maxMs: 1_000 } },
  );
  p = await producerEnv({ ...w.deployment, ...settings });
  const app = await w.startWorker();
  return { w, p, api: apiClient(p.url, keys.all), app };
}

async function metric(
  app: { metrics: { registry: { metrics(): Promise<string> } } },
  name: string,
) {
  const text = await app.metrics.registry.metrics();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

describe('answer cache', () => {
  it('answers a repeat from the cache, shares calls in flight, honours no-cache, never caches failures', async () => {
    const { w, api, app } = await stack('600');
    const submit = async (req: Request, cacheControl?: string) => {
      const { data } = await api.POST('/v1/eligibility', {
        params: {
          query: { wait: 20 },
          header: cacheControl ? { 'Cache-Control': cacheControl } : {},
        },
        body: { request: req },
      });
      if (!data) throw new Error('no answer');
      return data;
    };
    const first = await submit(request('SIM0000101'));
    expect(first.status).toBe('completed');
    expect(w.simulator.stats().requests).toBe(1);
    // The same patient and question under another control number: no call, the same answer.
    const repeat = await submit(request('SIM0000101', '87726', '987654321'));
    expect(repeat.status).toBe('completed');
    expect(repeat.result).toEqual(first.result);
    expect(repeat.summary).toEqual(first.summary);
    expect(repeat.cached).toBe(true);
    expect(first.cached).toBeUndefined();
    expect(w.simulator.stats().requests).toBe(1);
    const job = await w.queues.get(repeat.id);
    expect(job?.returnvalue?.cached).toBe(true);
    // A client that refuses cached answers gets a call of its own.
    await submit(request('SIM0000101'), 'no-cache');
    expect(w.simulator.stats().requests).toBe(2);
    // A failure (unknown payer) is not cached: each check calls.
    expect((await submit(request('SIM0000102', 'NOSUCHPAYER'))).status).toBe('failed');
    expect((await submit(request('SIM0000102', 'NOSUCHPAYER'))).status).toBe('failed');
    expect(w.simulator.stats().requests).toBe(4);

    // Five identical checks at once: one Stedi call, five identical answers.
    const { data: run } = await api.POST('/v1/eligibility/batch', {
      body: { items: Array.from({ length: 5 }, () => request('SIM0000103')) },
    });
    const ids = run?.checks.map((c) => c.id) ?? [];
    for (const id of ids) {
      const j = await w.queues.get(id);
      if (j) await w.waitFor(j);
    }
    expect(w.simulator.stats().requests).toBe(5);
    const answers = await Promise.all(
      ids.map(
        async (id) => (await api.GET('/v1/eligibility/{id}', { params: { path: { id } } })).data,
      ),
    );
    expect(answers.every((a) => a?.status === 'completed')).toBe(true);
    expect(new Set(answers.map((a) => JSON.stringify(a?.result))).size).toBe(1);
    expect(
      (await metric(app, 'eq_answer_cache_hits_total')) +
        (await metric(app, 'eq_answer_coalesced_total')),
    ).toBe(5);
    expect(await metric(app, 'eq_stedi_calls_saved_total')).toBe(5);
    // A bad Cache-Control is refused, naming the header.
    const bad = await api.POST('/v1/eligibility', {
      params: { header: { 'Cache-Control': 'max-age=soon' } },
      body: { request: request('SIM0000101') },
    });
    expect(bad.response.status).toBe(400);
    expect(bad.error?.issues?.[0]?.path).toBe('Cache-Control');

    // A request's own max-age bounds the answers it accepts: one older than it calls again.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await submit(request('SIM0000101'), 'max-age=1')).cached).toBeUndefined();
    expect(w.simulator.stats().requests).toBe(6);
    expect((await submit(request('SIM0000101'), 'max-age=60')).cached).toBe(true);
    expect(w.simulator.stats().requests).toBe(6);
    // Another tenant (API key) never gets this tenant's answers: its own call.
    const other = apiClient(p!.url, keys.submit);
    const { data: theirs } = await other.POST('/v1/eligibility', {
      body: { request: request('SIM0000101') },
    });
    const theirJob = await w.queues.get(theirs?.id ?? '');
    if (!theirJob) throw new Error('no check for the other tenant');
    expect(await w.waitFor(theirJob)).toBe('completed');
    expect((await w.queues.get(theirJob.id ?? ''))?.returnvalue?.cached).toBeUndefined();
    expect(w.simulator.stats().requests).toBe(7);
  }, 60_000);

  it('is off by default: every check calls', async () => {
    const { w, api } = await stack('0');
    for (let i = 0; i < 2; i++)
      await api.POST('/v1/eligibility', {
        params: { query: { wait: 20 } },
        body: { request: request('SIM0000104') },
      });
    expect(w.simulator.stats().requests).toBe(2);
  }, 30_000);
});
