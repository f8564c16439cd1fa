/** In-process tracing for tests: spans kept in memory, and their whole content as text. */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../src/shared/tracing/tracing.js';

/** Tracing for producer and worker in this test process, exporting to memory. */
export function memoryTracing(options: { keepJobResults?: boolean } = {}): {
  tracing: Tracing;
  spans: () => ReadableSpan[];
} {
  const exporter = new InMemorySpanExporter();
  const tracing = startTracing({ service: 'test', exporter, ...options });
  return { tracing, spans: () => exporter.getFinishedSpans() };
}

/** A span as a tracing backend would receive it, flattened to plain data. */
export function spanRecord(span: ReadableSpan) {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: span.status,
    links: span.links,
    resource: span.resource.attributes,
  };
}

/** Every span's whole content (names, attributes, events, status, resource) as text. */
export function spanTexts(spans: ReadableSpan[]): [string, string][] {
  return spans.map((s, i) => [`span ${i} ${s.name}`, JSON.stringify(spanRecord(s))]);
}
