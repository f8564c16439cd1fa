/**
 * Redis keys of the scheduler's shared state. Per-key state exists only for payers and tenants
 * with recent work, so thousands of payers cost nothing while idle.
 *
 *   {p}:sched:payer:{id}        hash: earned concurrency, slow-start threshold, failure streak,
 *                               breaker openUntil / probeUntil (epoch ms)
 *   {p}:sched:held:{kind}:{id}  sorted set of holder tokens scored by expiry (epoch ms)
 *   {p}:sched:active            sorted set of `kind:id` scored by last use, for readers
 *   {p}:sched:waiting           sorted set of payers whose checks wait, scored by when last seen
 *   {p}:sched:vtime             hash: batch fair-queue virtual time, per tenant finish tag
 */

/** What a holder token counts against. */
export type HeldKind = 'payer' | 'tenant' | 'npi';

/** The scheduler's key names under one queue prefix. */
export class SchedulerKeys {
  constructor(readonly prefix: string) {}

  payer(id: string): string {
    return `${this.prefix}:sched:payer:${id}`;
  }

  held(kind: HeldKind, id: string): string {
    return `${this.prefix}:sched:held:${kind}:${id}`;
  }

  get active(): string {
    return `${this.prefix}:sched:active`;
  }

  get waiting(): string {
    return `${this.prefix}:sched:waiting`;
  }

  get vtime(): string {
    return `${this.prefix}:sched:vtime`;
  }
}
