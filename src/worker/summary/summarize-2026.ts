/**
 * The summary of a 2026-06-01 answer: `plans[]`, each with `benefits.statuses` and one array per
 * cost-sharing type, entries scoped by `service: { system, value }`, `network.indicator`,
 * `coverageLevel` and `timePeriod`, dates as YYYY-MM-DD ranges, and AAA `errors[]`.
 */
import type { CheckSummary, SummaryBenefit } from '../../shared/schemas/check-summary.js';
import { aaaError } from './summarize-v3.js';
import { amountOf, isoDateOf, network2026, percentOf } from './benefit-codes.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const field = (o: Obj, ...path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);

const arrays = {
  coPayment: 'copay',
  coInsurance: 'coinsurance',
  deductible: 'deductible',
  outOfPocket: 'outOfPocket',
} as const;

/** Summarizes a 2026-06-01 answer for `serviceTypes`. */
export function summarize2026(body: unknown, serviceTypes: readonly string[]): CheckSummary {
  const answer = isObj(body) ? body : {};
  const wanted = new Set(serviceTypes);
  // An entry without a service applies to the plan as a whole; a procedure code is not an STC.
  const stcOf = (e: Obj) =>
    field(e, 'service', 'system') === 'STC' ? field(e, 'service', 'value') : undefined;
  const relevant = (e: Obj) => {
    if (!isObj(e.service)) return true;
    const stc = stcOf(e);
    return typeof stc === 'string' && wanted.has(stc);
  };
  const plans = objects(answer.plans);
  const statusesOf = (p: Obj) => objects(field(p, 'benefits', 'statuses')).filter(relevant);
  const isActive = (s: Obj) => typeof s.status === 'string' && s.status.startsWith('ACTIVE');
  const plan = plans.find((p) => statusesOf(p).some(isActive)) ?? plans[0];
  const statuses = plan ? statusesOf(plan) : [];
  const coverage = statuses.some(isActive)
    ? 'active'
    : statuses.some((s) => typeof s.status === 'string' && s.status.startsWith('INACTIVE'))
      ? 'inactive'
      : 'unknown';
  const range = (key: string) =>
    [
      ...statuses.map((s) => field(s, 'dates', key)),
      field(answer, 'subscriber', 'dates', key),
    ].find(isObj) ?? {};
  const planDates = range('plan');
  const eligibility = range('eligibility');
  const summaryPlan: CheckSummary['plan'] = {};
  if (plan && typeof plan.name === 'string' && plan.name.trim() !== '')
    summaryPlan.name = plan.name.trim();
  const dates = {
    begin: isoDateOf(planDates.start),
    end: isoDateOf(planDates.end),
    eligibilityBegin: isoDateOf(eligibility.start),
    eligibilityEnd: isoDateOf(eligibility.end),
  };
  for (const [k, v] of Object.entries(dates)) if (v) summaryPlan[k as keyof typeof dates] = v;
  const benefits: SummaryBenefit[] = [];
  for (const [key, type] of Object.entries(arrays)) {
    for (const e of objects(plan ? field(plan, 'benefits', key) : undefined).filter(relevant)) {
      const b: SummaryBenefit = { type, network: network2026(field(e, 'network', 'indicator')) };
      const stc = stcOf(e);
      if (typeof stc === 'string') b.serviceType = stc;
      if (typeof e.coverageLevel === 'string') b.coverageLevel = e.coverageLevel;
      if (typeof e.timePeriod === 'string') b.period = e.timePeriod;
      const amount = amountOf(e.amount);
      if (amount !== undefined) b.amount = amount;
      const percent = percentOf(e.percent);
      if (percent !== undefined) b.percent = percent;
      benefits.push(b);
    }
  }
  return {
    answeredBy: '2026-06-01',
    coverage,
    plan: summaryPlan,
    serviceTypes: [...serviceTypes],
    benefits,
    errors: objects(answer.errors).flatMap(aaaError),
  };
}
