/** Reads the scheduler's shared state for operators: per payer and per tenant, across workers. */
import type { Redis } from 'ioredis';
import { payerCap, tenantLimit, type EffectiveLimits } from './limits.js';
import { SchedulerKeys } from './keys.js';
import type { PayerStateView, SchedulingStateView, TenantStateView } from './state-view.js';

/** Keys used within this long are listed. */
const RECENT_MS = 10 * 60_000;

/** The state of every payer and tenant active in the last ten minutes. */
export async function readSchedulingState(
  redis: Redis,
  prefix: string,
  limits: EffectiveLimits,
  /** What a payer with no answers yet may run (PAYER_INITIAL_CONCURRENCY, at most L). */
  initialConcurrency: number,
  now = Date.now(),
): Promise<SchedulingStateView> {
  const keys = new SchedulerKeys(prefix);
  const active = await redis.zrangebyscore(keys.active, now - RECENT_MS, '+inf');
  const entries = active
    .map((a) => {
      const i = a.indexOf(':');
      return { kind: a.slice(0, i), id: a.slice(i + 1) };
    })
    .filter((e) => e.kind === 'payer' || e.kind === 'tenant');
  const pipeline = redis.pipeline();
  for (const e of entries) {
    pipeline.zcount(keys.held(e.kind as 'payer' | 'tenant', e.id), now, '+inf');
    if (e.kind === 'payer') pipeline.hgetall(keys.payer(e.id));
  }
  const replies = (await pipeline.exec()) ?? [];
  let r = 0;
  const next = () => replies[r++]?.[1];
  const payers: PayerStateView[] = [];
  const tenants: TenantStateView[] = [];
  for (const e of entries) {
    const inFlight = Number(next() ?? 0);
    if (e.kind === 'tenant') {
      const t = tenantLimit(limits, e.id);
      tenants.push({
        tenant: e.id,
        inFlight,
        weight: t.weight,
        ...(t.maxConcurrency !== undefined ? { maxConcurrency: t.maxConcurrency } : {}),
      });
      continue;
    }
    const h = (next() ?? {}) as Record<string, string>;
    const openUntil = Number(h.openUntil ?? 0);
    const breaker = openUntil > now ? 'open' : openUntil > 0 ? 'half-open' : 'closed';
    payers.push({
      payer: e.id,
      inFlight,
      // A payer with no answers yet runs what the scheduler starts every payer at, not 0.
      earnedConcurrency: Math.floor(Number(h.earned ?? initialConcurrency)),
      cap: payerCap(limits, e.id),
      breaker,
      ...(openUntil > 0 ? { probeAt: new Date(openUntil).toISOString() } : {}),
    });
  }
  return { payers, tenants };
}
