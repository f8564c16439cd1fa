/**
 * BullMQ's telemetry for our queues and workers: the bullmq-otel add-on, with two changes.
 *
 * - BullMQ adds each job's return value to its worker span (`bullmq.job.result` on the "job
 *   completed" event). Ours is Stedi's answer: sealed, but still the patient's record, so it never
 *   goes to a tracing backend. Our spans carry ids, payers, codes and timings instead.
 * - bullmq-otel 2.0.1's context manager lacks the optional `root()`, which BullMQ 6 uses to run
 *   its stalled-job checker outside whatever span started the worker (without it, every checker
 *   pass can join one trace that grows for the life of the process).
 */
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import type {
  Attributes,
  AttributeValue,
  ContextManager,
  Exception,
  Span,
  SpanOptions,
  Telemetry,
  Time,
  Tracer,
} from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';

/** Attributes BullMQ would fill with job data or results. */
const withheld = new Set(['bullmq.job.result']);

/** Telemetry for BullMQ Queues and Workers, with job results kept out of spans. */
export function bullmqTelemetry(
  name: string,
  version: string,
  options: { keepJobResults?: boolean } = {},
): Telemetry<Context> {
  const otel = new BullMQOtel({ tracerName: name, version });
  const contextManager: ContextManager<Context> = otel.contextManager;
  if (!('root' in contextManager)) contextManager.root = () => ROOT_CONTEXT;
  if (options.keepJobResults) return otel;
  const tracer = otel.tracer;
  return {
    contextManager,
    tracer: {
      startSpan: (spanName: string, spanOptions?: SpanOptions, ctx?: Context) =>
        new WithholdingSpan(tracer.startSpan(spanName, spanOptions, ctx)),
    } satisfies Tracer<Context>,
  };
}

/** A BullMQ span that drops the withheld attributes, wherever BullMQ sets them. */
class WithholdingSpan implements Span<Context> {
  constructor(private readonly inner: Span<Context>) {}

  setSpanOnContext(ctx: Context): Context {
    return this.inner.setSpanOnContext(ctx);
  }

  setAttribute(key: string, value: AttributeValue): void {
    if (!withheld.has(key)) this.inner.setAttribute(key, value);
  }

  setAttributes(attributes: Attributes): void {
    this.inner.setAttributes(kept(attributes));
  }

  addEvent(name: string, attributes?: Attributes): void {
    this.inner.addEvent(name, attributes && kept(attributes));
  }

  recordException(exception: Exception, time?: Time): void {
    this.inner.recordException(exception, time);
  }

  end(): void {
    this.inner.end();
  }
}

function kept(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([k]) => !withheld.has(k)));
}
