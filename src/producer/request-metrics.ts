import type { ServerResponse } from 'node:http';
import type { ProducerMetrics } from './metrics.js';

/** Counts the request and times it when its answer has been sent; `route` is read then. */
export function observeRequest(
  metrics: ProducerMetrics,
  method: string,
  res: ServerResponse,
  route: () => string,
): void {
  const started = performance.now();
  res.once('finish', () => {
    const label = route();
    metrics.requests.inc({ method, route: label, status: String(res.statusCode) });
    metrics.latency.observe({ method, route: label }, (performance.now() - started) / 1000);
  });
}
