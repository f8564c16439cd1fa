/** The root sampler: submissions only, TRACE_SAMPLE_RATIO of them by trace id. */
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';
import { expect, it } from 'vitest';
import { SubmissionRootSampler } from '../../../src/shared/tracing/tracing.js';

const decide = (ratio: number, name: string, traceId = randomBytes(16).toString('hex')) =>
  new SubmissionRootSampler(ratio).shouldSample(
    ROOT_CONTEXT,
    traceId,
    name,
    SpanKind.SERVER,
    {},
    [],
  ).decision;

it('keeps every submission at 1, none at 0, and never a background root', () => {
  expect(decide(1, 'POST /v1/eligibility')).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  expect(decide(0, 'POST /v1/eligibility')).toBe(SamplingDecision.NOT_RECORD);
  expect(decide(1, 'getNextJob eligibility-batch')).toBe(SamplingDecision.NOT_RECORD);
});

it('keeps about the given share of submissions, the same decision for the same trace', () => {
  const ids = Array.from({ length: 2_000 }, () => randomBytes(16).toString('hex'));
  const kept = ids.filter(
    (id) => decide(0.25, 'POST /v1/eligibility', id) === SamplingDecision.RECORD_AND_SAMPLED,
  );
  expect(kept.length / ids.length).toBeGreaterThan(0.2);
  expect(kept.length / ids.length).toBeLessThan(0.3);
  for (const id of kept.slice(0, 50))
    expect(decide(0.25, 'addBulk eligibility-batch', id)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
});
