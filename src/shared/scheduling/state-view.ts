/** What the scheduler's shared state looks like to operators (GET /v1/limits, /v1/concurrency). */

/** One payer with checks in flight or a breaker not closed. */
export interface PayerStateView {
  readonly payer: string;
  /** Checks of this payer holding or about to hold a slot, across all workers. */
  readonly inFlight: number;
  /** Concurrency the payer has earned with healthy answers (adaptive, within its cap). */
  readonly earnedConcurrency: number;
  /** Its cap in slots while other payers' checks wait. */
  readonly cap: number;
  readonly breaker: 'closed' | 'open' | 'half-open';
  /** When an open breaker lets one probe through (ISO time). */
  readonly probeAt?: string;
}

/** One tenant (API key) with checks in flight. */
export interface TenantStateView {
  readonly tenant: string;
  readonly inFlight: number;
  readonly weight: number;
  readonly maxConcurrency?: number;
}

/** The scheduler's state across all workers, read from Redis. */
export interface SchedulingStateView {
  readonly payers: readonly PayerStateView[];
  readonly tenants: readonly TenantStateView[];
}
