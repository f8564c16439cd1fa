import type { ServerResponse } from 'node:http';
import type { ProducerMetrics } from './metrics.js';

/** Counts one answered request and its latency since `startedMs` (performance.now()). */
export function recordRequest(
  metrics: ProducerMetrics,
  method: string,
  route: string,
  status: number,
  startedMs: number,
): void {
  metrics.requests.inc({ method, route, status: String(status) });
  metrics.latency.observe({ method, route }, (performance.now() - startedMs) / 1000);
}

/** Records the request when its answer has been sent; `route` is read then. */
export function observeRequest(
  metrics: ProducerMetrics,
  method: string,
  res: ServerResponse,
  route: () => string,
): void {
  const started = performance.now();
  res.once('finish', () => recordRequest(metrics, method, route(), res.statusCode, started));
}
