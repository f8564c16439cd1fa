/** The producer's Prometheus metrics: HTTP requests, and queue depth by priority and state on each scrape. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CheckQueues } from '../shared/check-queues.js';
import type { Priority } from '../shared/queues.js';
import type { SchedulingStateView } from '../shared/scheduling/state-view.js';
import { clusterMetricsSource, inProducerCluster } from './producer-cluster.js';

const states = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;

/** Producer metrics on their own registry. */
export interface ProducerMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly latency: Histogram<'method' | 'route'>;
  /** The exposition text: this process's metrics, or the whole cluster's when in one. */
  scrape(): Promise<string>;
}

/**
 * Creates the producer metrics; queue depth, and each recent payer's breaker from the scheduler's
 * shared state, are read from Redis when scraped.
 */
export function createProducerMetrics(
  queues: CheckQueues,
  schedulingState?: () => Promise<SchedulingStateView>,
): ProducerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  if (schedulingState)
    new Gauge({
      // The workers' gauge of the same name covers only payers with checks in them now; a payer
      // whose checks are all parked would drop out of it, and the breaker alert with it.
      name: 'eq_payer_breaker_open',
      aggregator: 'first',
      help: '1 while the payer breaker is open, for every payer active in the last 10 minutes (shared state)',
      labelNames: ['payer'],
      registers: r,
      async collect() {
        this.reset();
        for (const p of (await schedulingState()).payers)
          this.set({ payer: p.payer }, p.breaker === 'open' ? 1 : 0);
      },
    });
  new Gauge({
    name: 'eq_queue_jobs',
    // Every producer of a cluster reads the same Redis: one reading, not their sum.
    aggregator: 'first',
    help: 'Checks in each queue by state',
    labelNames: ['priority', 'state'],
    registers: r,
    async collect() {
      for (const [priority, queue] of Object.entries(queues.queues) as [
        Priority,
        (typeof queues.queues)[Priority],
      ][]) {
        const counts = await queue.getJobCounts(...states);
        for (const state of states) this.set({ priority, state }, counts[state] ?? 0);
      }
      // Checks routed to Stedi's Batch Eligibility API, counted like the others.
      const routed = await queues.stediBatch.checks.getJobCounts(...states);
      for (const state of states) this.set({ priority: 'stedi-batch', state }, routed[state] ?? 0);
    },
  });
  return {
    registry,
    scrape: inProducerCluster() ? clusterMetricsSource(registry) : () => registry.metrics(),
    requests: new Counter({
      name: 'eq_http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status'],
      registers: r,
    }),
    latency: new Histogram({
      name: 'eq_http_request_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 60],
      registers: r,
    }),
  };
}
