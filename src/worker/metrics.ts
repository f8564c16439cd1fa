/** The worker's Prometheus metrics (prom-client), on its own registry. */
import { answerCacheMetrics, type AnswerCacheMetrics } from './answer-cache/cached-processor.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  createStediBatchMetrics,
  type StediBatchMetrics,
} from './stedi-batch/stedi-batch-metrics.js';

/** Every metric a worker exports. */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Answer cache hits, coalesced checks and the Stedi calls both saved. */
  readonly answerCache: AnswerCacheMetrics;
  readonly calls: Counter<'outcome' | 'pool'>;
  readonly callSeconds: Histogram<'pool' | 'outcome'>;
  readonly checkWaitSeconds: Histogram<'pool'>;
  readonly allocation: Gauge;
  readonly realtimeReserved: Gauge;
  readonly slotWaitSeconds: Histogram<'pool' | 'handed_over'>;
  readonly slotsHeld: Gauge<'pool'>;
  readonly leaseRenewals: Counter;
  readonly leasesLost: Counter;
  readonly throttled: Counter;
  readonly parked: Counter<'reason'>;
  readonly payerInFlight: Gauge<'payer'>;
  readonly payerEarned: Gauge<'payer'>;
  readonly payerBreakerOpen: Gauge<'payer'>;
  readonly payerWaiting: Gauge<'payer'>;
  readonly tenantInFlight: Gauge<'tenant'>;
  readonly tenantWaiting: Gauge<'tenant'>;
  readonly realtimeHeadroom: Gauge;
  readonly dynamoRequests: Gauge;
  /** The batch route's (calls to Stedi's Batch Eligibility API, routed checks finished). */
  readonly stediBatch: StediBatchMetrics;
  readonly redisStallRecovery: Counter<'what'>;
}

/** Creates the worker's metrics on a fresh registry. */
export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    answerCache: answerCacheMetrics(registry),
    stediBatch: createStediBatchMetrics(registry),
    calls: new Counter({
      name: 'eq_stedi_calls_total',
      help: 'Stedi calls by outcome',
      labelNames: ['outcome', 'pool'],
      registers: r,
    }),
    callSeconds: new Histogram({
      name: 'eq_stedi_call_seconds',
      help: 'Stedi call latency by outcome',
      labelNames: ['pool', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 90],
      registers: r,
    }),
    checkWaitSeconds: new Histogram({
      name: 'eq_check_wait_seconds',
      help: "Time from submission to the Stedi call of a check's first attempt (queue, parking and slot wait)",
      labelNames: ['pool'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: r,
    }),
    allocation: new Gauge({
      name: 'eq_allocation_slots',
      help: 'The Stedi concurrency allocation L this worker enforces (STEDI_CONCURRENCY)',
      registers: r,
    }),
    realtimeReserved: new Gauge({
      name: 'eq_realtime_reserved_slots',
      help: 'Slots R kept for realtime while it needs them (STEDI_REALTIME_RESERVED)',
      registers: r,
    }),
    slotWaitSeconds: new Histogram({
      name: 'eq_slot_wait_seconds',
      help: 'Time a check waited for a semaphore slot',
      labelNames: ['pool', 'handed_over'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: r,
    }),
    slotsHeld: new Gauge({
      name: 'eq_slots_held',
      help: 'Semaphore slots this worker holds',
      labelNames: ['pool'],
      registers: r,
    }),
    leaseRenewals: new Counter({
      name: 'eq_lease_renewals_total',
      help: 'Lease renewals written',
      registers: r,
    }),
    leasesLost: new Counter({
      name: 'eq_leases_lost_total',
      help: 'Leases found reclaimed by another holder',
      registers: r,
    }),
    throttled: new Counter({
      name: 'eq_stedi_429_total',
      help: 'Stedi 429 answers: non-zero means STEDI_CONCURRENCY exceeds the real allocation',
      registers: r,
    }),
    parked: new Counter({
      name: 'eq_checks_parked_total',
      help: 'Checks sent back to wait without spending an attempt, by reason (breaker, limits)',
      labelNames: ['reason'],
      registers: r,
    }),
    payerInFlight: new Gauge({
      name: 'eq_payer_in_flight',
      help: 'Checks of each payer holding or about to hold a slot, across all workers',
      labelNames: ['payer'],
      registers: r,
    }),
    payerEarned: new Gauge({
      name: 'eq_payer_earned_concurrency',
      help: 'Concurrency each payer has earned with healthy answers',
      labelNames: ['payer'],
      registers: r,
    }),
    payerBreakerOpen: new Gauge({
      name: 'eq_payer_breaker_open',
      help: '1 while the payer breaker is open (its batch checks wait)',
      labelNames: ['payer'],
      registers: r,
    }),
    payerWaiting: new Gauge({
      name: 'eq_payer_checks_waiting',
      help: 'Checks of each payer waiting for a slot in this worker',
      labelNames: ['payer'],
      registers: r,
    }),
    tenantInFlight: new Gauge({
      name: 'eq_tenant_in_flight',
      help: 'Checks of each tenant (API key) holding or about to hold a slot, across all workers',
      labelNames: ['tenant'],
      registers: r,
    }),
    tenantWaiting: new Gauge({
      name: 'eq_tenant_checks_waiting',
      help: 'Checks of each tenant (API key) waiting for a slot in this worker',
      labelNames: ['tenant'],
      registers: r,
    }),
    realtimeHeadroom: new Gauge({
      name: 'eq_realtime_headroom_slots',
      help: 'Idle slots the lending policy keeps for realtime now',
      registers: r,
    }),
    dynamoRequests: new Gauge({
      name: 'eq_dynamodb_requests',
      help: 'DynamoDB requests sent by this worker',
      registers: r,
    }),
    redisStallRecovery: new Counter({
      name: 'eq_redis_stall_recovery_total',
      help: 'Job locks reclaimed or lost after they expired (Redis stalls), and Stedi answers kept for, or reused by, another run of their check',
      labelNames: ['what'],
      registers: r,
    }),
  };
}
