/**
 * The first span of a check's trace: the submission request (`POST /v1/eligibility` and
 * `/v1/eligibility/batch`). Used only when tracing is on; the app is built without it otherwise.
 */
import type { RequestListener } from 'node:http';
import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';

const submissionRoutes = new Set(['/v1/eligibility', '/v1/eligibility/batch']);

/** Runs each submission request inside its own server span; other requests as they are. */
export function traceSubmissions(tracer: Tracer, listener: RequestListener): RequestListener {
  return (req, res) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const route = (q < 0 ? url : url.slice(0, q)).replace(/(.)\/$/, '$1');
    if (req.method !== 'POST' || !submissionRoutes.has(route)) {
      listener(req, res);
      return;
    }
    tracer.startActiveSpan(
      `POST ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': route },
      },
      (span) => {
        const end = () => {
          span.setAttribute('http.response.status_code', res.statusCode);
          if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        };
        // 'close' also comes when the client hangs up before the answer; end the span once.
        res.once('close', end);
        listener(req, res);
      },
    );
  };
}

/**
 * A body parser whose `next` runs in the trace context it was called in: it reads the request
 * stream, whose events come in the connection's context, and the enqueue that follows must join
 * the request's span.
 */
export function keepTraceContext<Req, Res, Next extends (...args: never[]) => unknown>(
  parser: (req: Req, res: Res, next: Next) => void,
): (req: Req, res: Res, next: Next) => void {
  return (req, res, next) => parser(req, res, context.bind(context.active(), next));
}
