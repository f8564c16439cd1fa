/**
 * A check's trace, exported in process: the submission request, BullMQ's enqueue, the worker's
 * processing, the slot wait and the Stedi call in one trace, parent to child; a batch request's
 * checks each under its enqueue; BullMQ's background work not traced; no patient value anywhere.
 */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { findCanaries } from '../support/leak-scan.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { memoryTracing, spanRecord, spanTexts } from '../support/spans.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const patient = {
  memberId: 'TRACEMBR4242',
  firstName: 'Tracefirstname',
  lastName: 'Tracelastname',
  dateOfBirth: '19620304',
};
const request = (member = patient.memberId, payer = '87726') => ({
  ...checkRequest(member, payer),
  subscriber: { ...patient, memberId: member },
});

const traced = memoryTracing();
let w: WorkerEnv;
let p: ProducerEnv;

beforeAll(async () => {
  w = await workerEnv(
    { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
    { concurrency: 2, latency: { medianMs: 30, sigma: 0, maxMs: 1_000 } },
  );
  p = await producerEnv({ ...w.deployment }, { tracing: traced.tracing });
  await w.startWorker({}, { tracing: traced.tracing });
}, 60_000);

afterAll(async () => {
  await p?.close();
  await w?.close();
  await traced.tracing.close();
});

/** The spans of the first trace whose root matches, once `until` holds for them. */
async function traceOf(
  root: (s: ReadableSpan) => boolean,
  until: (spans: ReadableSpan[]) => boolean,
): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const first = traced.spans().find(root);
    const trace = first
      ? traced.spans().filter((s) => s.spanContext().traceId === first.spanContext().traceId)
      : [];
    if (first && until(trace)) return trace;
    if (Date.now() > deadline)
      throw new Error(`trace incomplete: ${trace.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const parentOf = (span: ReadableSpan, spans: ReadableSpan[]) =>
  spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

describe('tracing', () => {
  it('follows a realtime check from the REST request through the queue, the slot wait and the Stedi call', async () => {
    const res = await p.call('/v1/eligibility?wait=10', {
      method: 'POST',
      body: JSON.stringify({ priority: 'realtime', request: request() }),
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    const spans = await traceOf(
      (s) => s.name === 'POST /v1/eligibility' && s.attributes['http.response.status_code'] === 200,
      (t) => t.some((s) => s.name === 'process eligibility-realtime'),
    );
    const byName = (name: string) => {
      const span = spans.find((s) => s.name === name);
      expect(span, `${name} in ${spans.map((s) => s.name).join(', ')}`).toBeDefined();
      return span!;
    };
    const request_ = byName('POST /v1/eligibility');
    const add = byName('add eligibility-realtime.check:87726:local');
    const process = byName('process eligibility-realtime');
    const wait = byName('slot wait');
    const call = byName('stedi call');

    expect(request_.kind).toBe(SpanKind.SERVER);
    expect(request_.parentSpanContext).toBeUndefined();
    expect(parentOf(add, spans)).toBe(request_);
    expect(add.kind).toBe(SpanKind.PRODUCER);
    expect(add.attributes['bullmq.job.id']).toBe(id);
    expect(parentOf(process, spans)).toBe(add);
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.attributes).toMatchObject({
      'eq.check.id': id,
      'eq.pool': 'realtime',
      'eq.payer': '87726',
      'eq.tenant': 'local',
      'eq.attempt': 1,
    });
    expect(parentOf(wait, spans)).toBe(process);
    expect(wait.attributes).toMatchObject({ 'eq.pool': 'realtime', 'eq.slot': expect.any(Number) });
    expect(parentOf(call, spans)).toBe(process);
    expect(call.kind).toBe(SpanKind.CLIENT);
    expect(call.attributes).toMatchObject({
      'eq.outcome': 'answer',
      'eq.slot': wait.attributes['eq.slot'],
    });
    // In order: the wait ends before the call starts, both within the processing (span clocks
    // are anchored per span: 1 ms of rounding either way).
    const ms = (t: [number, number]) => t[0] * 1_000 + t[1] / 1e6;
    expect(ms(wait.endTime)).toBeLessThanOrEqual(ms(call.startTime) + 1);
    expect(ms(process.startTime)).toBeLessThanOrEqual(ms(wait.startTime) + 1);
    expect(ms(call.endTime)).toBeLessThanOrEqual(ms(process.endTime) + 1);
    // Stedi's answer (sealed) stays out of BullMQ's "job completed" event.
    expect(
      process.events.find((e) => e.name === 'job completed')?.attributes ?? {},
    ).not.toHaveProperty('bullmq.job.result');
  });

  it("puts each check of a batch request in the request's trace, under the enqueue", async () => {
    const res = await p.call('/v1/eligibility/batch', {
      method: 'POST',
      body: JSON.stringify({ items: [request('TRACEB1'), request('TRACEB2', '60054')] }),
    });
    expect(res.status).toBe(202);
    const spans = await traceOf(
      (s) => s.name === 'POST /v1/eligibility/batch',
      (t) => t.filter((s) => s.name === 'process eligibility-batch').length === 2,
    );
    const bulk = spans.find((s) => s.name === 'addBulk eligibility-batch');
    expect(parentOf(bulk!, spans)?.name).toBe('POST /v1/eligibility/batch');
    const processes = spans.filter((s) => s.name === 'process eligibility-batch');
    expect(processes.map((s) => s.attributes['eq.payer']).sort()).toEqual(['60054', '87726']);
    for (const s of processes) expect(parentOf(s, spans)).toBe(bulk);
  });

  it("keeps no trace of BullMQ's background work (job fetches, stalled-job checks)", async () => {
    await new Promise((r) => setTimeout(r, 1_500)); // a stalled-check interval in these tests
    const roots = traced.spans().filter((s) => !s.parentSpanContext);
    expect([...new Set(roots.map((s) => s.name))].sort()).toEqual([
      'POST /v1/eligibility',
      'POST /v1/eligibility/batch',
    ]);
  });

  it('carries no patient value in any span, attribute or event', () => {
    const all = traced.spans();
    expect(all.length).toBeGreaterThan(10);
    expect(findCanaries(spanTexts(all), Object.values(patient))).toEqual([]);
    // The scan reads what a backend would get, attributes and events included.
    expect(JSON.stringify(all.map(spanRecord))).toContain('eq.outcome');
  });
});
