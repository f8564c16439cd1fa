/**
 * The worker's part of a check's trace, inside BullMQ's `process` span: the slot wait and the
 * Stedi call. With tracing off there is no tracer and each step runs as it is. Attributes are
 * ids, payer ids, API key names, pools, slots, codes and timings: never a request or an answer.
 */
import {
  SpanStatusCode,
  type SpanKind,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { CallOutcome } from './stedi/classify-reply.js';

/** Errors that send a check back to wait: the step ended as designed, not in failure. */
const backToWait = new Set(['DelayedError', 'WaitingError']);

/** Runs `step` in a child span of the check's span (or as it is, without a tracer). */
export async function inCheckSpan<T>(
  tracer: Tracer | undefined,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  step: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracer) return step(undefined);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await step(span);
    } catch (err) {
      const errorName = err instanceof Error ? err.name : 'Error';
      if (backToWait.has(errorName)) span.setAttribute('eq.outcome', 'back to wait');
      // The class name only: messages are for logs and failure reasons.
      else span.setStatus({ code: SpanStatusCode.ERROR, message: errorName });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks the check's own span (BullMQ's `process` span) with what the check is. */
export function describeCheck(tracer: Tracer | undefined, attributes: Attributes): void {
  if (tracer) trace.getActiveSpan()?.setAttributes(attributes);
}

/** What a Stedi call's outcome says, as span attributes. */
export function outcomeAttributes(outcome: CallOutcome): Attributes {
  // Reasons name status, AAA and Stedi error codes, never Stedi's text (classify-reply.ts).
  if (outcome.kind === 'answer')
    return { 'eq.outcome': 'answer', 'eq.aaa_codes': outcome.aaaCodes };
  if (outcome.kind === 'throttled') return { 'eq.outcome': 'throttled' };
  return { 'eq.outcome': outcome.kind, 'eq.reason': outcome.reason };
}
