/**
 * The OpenAPI document as a contract: Redocly's recommended rules find no error (offline, the rules
 * ship with @redocly/openapi-core), the committed client types are what openapi-typescript makes
 * of the document now, and every operation answers, through the conformance-checking typed
 * client, only with statuses, content types and bodies the document lists.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { apiTypesPath, generateApiTypes } from '../support/api-types-source.js';
import type { components } from '../support/api-types.js';
import { checkRequest } from '../support/fixtures.js';
import { lintOpenApi } from '../support/openapi-lint.js';
import { keys, producerEnv, type ProducerEnv } from '../support/producer-env.js';

/** The fixture request as the document types it (zod's optional fields allow undefined). */
const request = (memberId?: string) =>
  checkRequest(memberId) as components['schemas']['SubmitCheck']['request'];

describe('OpenAPI document', () => {
  it("passes Redocly's recommended rules with no error", async () => {
    const problems = await lintOpenApi();
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    // The one warning left: a private project has no license to name.
    expect(problems.map((p) => p.ruleId)).toEqual(['info-license']);
  });

  it('has the client types committed in test/support/api-types.ts (npm run generate:api-types)', async () => {
    expect(
      await readFile(apiTypesPath, 'utf8'),
      'the OpenAPI document changed: run `npm run generate:api-types` and commit the result',
    ).toBe(await generateApiTypes());
  });
});

describe('every operation answers as documented', () => {
  let p: ProducerEnv;
  beforeAll(async () => {
    p = await producerEnv();
  });
  afterAll(async () => {
    await p.close();
  });

  it('operations, health and errors through the conformance-checking client', async () => {
    const api = apiClient(p.url, keys.all);
    const noKey = apiClient(p.url);
    expect((await noKey.GET('/healthz')).data).toEqual({ status: 'ok' });
    expect([200, 503]).toContain((await noKey.GET('/readyz')).response.status);
    expect((await noKey.GET('/metrics', { parseAs: 'text' })).data).toContain('eq_');
    expect((await api.GET('/v1/concurrency')).response.status).toBe(200);
    expect((await api.GET('/v1/limits')).response.status).toBe(200);
    expect((await api.GET('/admin/mode')).data).toEqual({ mode: 'normal' });
    expect((await api.POST('/admin/mode', { body: { mode: 'normal' } })).data).toEqual({
      mode: 'normal',
    });
    const { data: limits } = await api.GET('/v1/limits');
    expect((await api.PUT('/admin/limits', { body: {} })).response.status).toBe(200);
    expect(limits).toBeDefined();

    const submitted = await api.POST('/v1/eligibility', {
      body: { priority: 'batch', request: request() },
    });
    expect(submitted.response.status).toBe(202);
    const id = submitted.data?.id ?? '';
    expect(
      (await api.GET('/v1/eligibility/{id}', { params: { path: { id } } })).data,
    ).toMatchObject({ id, status: 'waiting' });
    expect((await api.DELETE('/v1/eligibility/{id}', { params: { path: { id } } })).data).toEqual({
      id,
      status: 'cancelled',
    });
    const gone = await api.GET('/v1/eligibility/{id}', { params: { path: { id } } });
    expect(gone.response.status).toBe(404);

    const batch = await api.POST('/v1/eligibility/batch', {
      body: { items: [request(), request('SIM0000002')] },
    });
    const runId = batch.data?.runId ?? '';
    expect(batch.response.headers.get('location')).toBe(`/v1/runs/${runId}`);
    const run = await api.GET('/v1/runs/{id}', { params: { path: { id: runId } } });
    expect(run.data).toMatchObject({ total: 2, counts: { waiting: 2 }, status: 'running' });
    const cancelled = await api.DELETE('/v1/runs/{id}', { params: { path: { id: runId } } });
    expect(cancelled.data).toMatchObject({ cancelledNow: 2, status: 'cancelled' });
    const results = await api.GET('/v1/runs/{id}/results', {
      params: { path: { id: runId } },
      parseAs: 'text',
    });
    expect(results.data?.trim().split('\n')).toHaveLength(2);

    // Error answers are documented too: 400, 401, 403, 404, 409, 415.
    const invalid = await api.POST('/v1/eligibility', {
      // Deliberately invalid: past the types, to reach the route's validation.
      body: { request: { ...request(), provider: { npi: '123' } } } as never,
    });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error?.issues?.length).toBeGreaterThan(0);
    expect((await noKey.GET('/v1/limits')).response.status).toBe(401);
    const viewer = apiClient(p.url, keys.read);
    expect((await viewer.GET('/admin/mode')).response.status).toBe(403);
    const reused = { params: { header: { 'Idempotency-Key': 'contract-1' } } };
    await api.POST('/v1/eligibility', { body: { request: request() }, ...reused });
    const conflict = await api.POST('/v1/eligibility', {
      body: { request: request('SIM0000009') },
      ...reused,
    });
    expect(conflict.response.status).toBe(409);
    const wrongType = await api.POST('/v1/eligibility/batch', {
      body: { items: [request()] },
      bodySerializer: (b) => JSON.stringify(b),
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.response.status).toBe(415);
  });
});
