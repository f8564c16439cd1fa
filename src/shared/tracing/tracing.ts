/**
 * Optional OpenTelemetry tracing, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: one trace per
 * submission, from the REST request through the queue (BullMQ carries the trace context in the
 * job's options), the slot wait and the Stedi call. Off, nothing is created: the queues get no
 * telemetry and every traced step checks for a tracer once.
 *
 * Only traces that start at a submission are kept: BullMQ also opens spans for its own
 * background work (fetching jobs, the stalled-job checker), which would otherwise each be a trace.
 * Spans carry ids, payer ids, API key names, codes and timings, never patient data (the leak test
 * scans every span).
 */
import {
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  SimpleSpanProcessor,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Telemetry } from 'bullmq';
import type { Config } from '../config.js';
import { bullmqTelemetry } from './bullmq-telemetry.js';

const TRACER_NAME = 'eligibility-queue';
const VERSION = '0.1.0';

/** Names of the spans a kept trace may start with: a submission, or an enqueue outside one. */
const traceRoots = /^(POST \/v1\/eligibility|add |addBulk )/;

/** Tracing in one process. */
export interface Tracing {
  /** BullMQ's telemetry, for every Queue and Worker of the process. */
  readonly telemetry: Telemetry<Context>;
  /** Our own spans (the HTTP request, the slot wait, the Stedi call). */
  readonly tracer: Tracer;
  /** Exports what is buffered and unregisters. */
  close(): Promise<void>;
}

/** How to start tracing. */
export interface TracingOptions {
  /** `eligibility-queue-<service>` names the process in the tracing backend. */
  readonly service: string;
  /** OTLP/HTTP endpoint (the collector's base URL; `/v1/traces` is appended). */
  readonly endpoint?: string;
  /** Where spans go instead of OTLP, one by one (tests: an in-memory exporter). */
  readonly exporter?: SpanExporter;
  /** Let BullMQ put job results in spans; only the test that proves the leak test sees them. */
  readonly keepJobResults?: boolean;
  /** Share of submissions traced (TRACE_SAMPLE_RATIO); 1 when not given. */
  readonly sampleRatio?: number;
}

/** Tracing as configured: undefined (off) unless OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export function tracingFromConfig(config: Config, service: string): Tracing | undefined {
  const endpoint = config.OTEL_EXPORTER_OTLP_ENDPOINT;
  return endpoint
    ? startTracing({ service, endpoint, sampleRatio: config.TRACE_SAMPLE_RATIO })
    : undefined;
}

/** Registers a tracer provider for this process (its context manager and W3C propagation too). */
export function startTracing(options: TracingOptions): Tracing {
  const exporter =
    options.exporter ??
    new OTLPTraceExporter({ url: `${(options.endpoint ?? '').replace(/\/$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `eligibility-queue-${options.service}` }),
    sampler: new ParentBasedSampler({
      root: new SubmissionRootSampler(options.sampleRatio ?? 1),
    }),
    spanProcessors: [
      options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ],
  });
  provider.register();
  return {
    telemetry: bullmqTelemetry(
      TRACER_NAME,
      VERSION,
      options.keepJobResults ? { keepJobResults: true } : {},
    ),
    tracer: provider.getTracer(TRACER_NAME, VERSION),
    close: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * Keeps traces that start with a submission, `ratio` of them by trace id; drops BullMQ's
 * background spans without a parent.
 */
export class SubmissionRootSampler implements Sampler {
  private readonly byTraceId: TraceIdRatioBasedSampler;

  constructor(private readonly ratio: number) {
    this.byTraceId = new TraceIdRatioBasedSampler(ratio);
  }

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    _kind: SpanKind,
    _attributes: Attributes,
    _links: Link[],
  ): SamplingResult {
    if (!traceRoots.test(spanName)) return { decision: SamplingDecision.NOT_RECORD };
    return this.byTraceId.shouldSample(context, traceId);
  }

  toString(): string {
    return `SubmissionRootSampler{ratio=${this.ratio}}`;
  }
}
