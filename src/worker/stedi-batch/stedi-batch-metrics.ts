/** Metrics of the batch route, on the worker's registry. */
import { Counter, type Registry } from 'prom-client';

/** What the batch route counts. */
export interface StediBatchMetrics {
  /** Calls to Stedi's Batch Eligibility API, by call (submit, status, results, items) and answer. */
  readonly requests: Counter<'call' | 'outcome'>;
  /** Routed checks finished by this worker, by outcome (completed, failed). */
  readonly checks: Counter<'outcome'>;
}

/** Creates the batch route's metrics on `registry`. */
export function createStediBatchMetrics(registry: Registry): StediBatchMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'eq_stedi_batch_requests_total',
      help: "Calls to Stedi's Batch Eligibility API by call and HTTP status (or transport-error)",
      labelNames: ['call', 'outcome'],
      registers,
    }),
    checks: new Counter({
      name: 'eq_routed_checks_total',
      help: "Checks routed to Stedi's Batch Eligibility API finished, by outcome",
      labelNames: ['outcome'],
      registers,
    }),
  };
}
