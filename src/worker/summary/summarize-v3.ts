/**
 * The summary of a v3 answer (also the shape of Stedi's Batch Eligibility API results):
 * `benefitsInformation[]` entries coded per X12 (1-8 coverage, A/B/C/G cost sharing), scoped by
 * `serviceTypeCodes`, `planStatus[]`, `planDateInformation`, and AAA `errors[]`.
 */
import type {
  CheckSummary,
  SummaryBenefit,
  SummaryError,
} from '../../shared/schemas/check-summary.js';
import { aaaAdvice } from './aaa-advice.js';
import {
  amountOf,
  isoOfYmd,
  percentOf,
  v3BenefitType,
  v3Coverage,
  v3CoverageLevel,
  v3Network,
  v3TimePeriod,
} from './benefit-codes.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
const codesOf = (e: Obj): string[] =>
  Array.isArray(e.serviceTypeCodes) ? e.serviceTypeCodes.filter((c) => typeof c === 'string') : [];

/** Summarizes a v3-shaped answer for `serviceTypes`. */
export function summarizeV3(
  body: unknown,
  serviceTypes: readonly string[],
  answeredBy: 'v3' | 'stedi-batch',
): CheckSummary {
  const answer = isObj(body) ? body : {};
  const wanted = new Set(serviceTypes);
  // An entry without service type codes applies to the plan as a whole.
  const relevant = (e: Obj) => {
    const codes = codesOf(e);
    return codes.length === 0 || codes.some((c) => wanted.has(c));
  };
  const benefits = objects(answer.benefitsInformation).filter(relevant);
  const statuses = [
    ...benefits.map((b) => v3Coverage(b.code)),
    ...objects(answer.planStatus)
      .filter(relevant)
      .map((s) => v3Coverage(s.statusCode)),
  ];
  const coverage = statuses.includes('active')
    ? 'active'
    : statuses.includes('inactive')
      ? 'inactive'
      : 'unknown';
  const dates = isObj(answer.planDateInformation) ? answer.planDateInformation : {};
  // A date range is sent as one string, YYYYMMDD-YYYYMMDD.
  const [planFrom, planTo] = (text(dates.plan) ?? '').split('-');
  const [eligFrom, eligTo] = (text(dates.eligibility) ?? '').split('-');
  const plan: CheckSummary['plan'] = {};
  const name =
    benefits.map((b) => (v3Coverage(b.code) ? text(b.planCoverage) : undefined)).find(Boolean) ??
    objects(answer.planStatus)
      .map((s) => text(s.planDetails))
      .find(Boolean) ??
    (isObj(answer.planInformation)
      ? (text(answer.planInformation.planDescription) ??
        text(answer.planInformation.groupDescription))
      : undefined);
  if (name) plan.name = name;
  const begin = isoOfYmd(dates.planBegin) ?? isoOfYmd(planFrom);
  const end = isoOfYmd(dates.planEnd) ?? isoOfYmd(planTo);
  const eligibilityBegin = isoOfYmd(dates.eligibilityBegin) ?? isoOfYmd(eligFrom);
  const eligibilityEnd = isoOfYmd(dates.eligibilityEnd) ?? isoOfYmd(eligTo);
  if (begin) plan.begin = begin;
  if (end) plan.end = end;
  if (eligibilityBegin) plan.eligibilityBegin = eligibilityBegin;
  if (eligibilityEnd) plan.eligibilityEnd = eligibilityEnd;
  return {
    answeredBy,
    coverage,
    plan,
    serviceTypes: [...serviceTypes],
    benefits: benefits.flatMap((b) => costSharing(b, wanted)),
    errors: objects(answer.errors).flatMap(aaaError),
  };
}

/** One summary benefit per requested service type the entry covers (one if it names none). */
function costSharing(e: Obj, wanted: ReadonlySet<string>): SummaryBenefit[] {
  const type = typeof e.code === 'string' ? v3BenefitType[e.code] : undefined;
  if (!type) return [];
  const base: SummaryBenefit = { type, network: v3Network(e.inPlanNetworkIndicatorCode) };
  const level =
    typeof e.coverageLevelCode === 'string' ? v3CoverageLevel[e.coverageLevelCode] : undefined;
  if (level) base.coverageLevel = level;
  const period =
    typeof e.timeQualifierCode === 'string' ? v3TimePeriod[e.timeQualifierCode] : undefined;
  if (period) base.period = period;
  const amount = amountOf(e.benefitAmount);
  if (amount !== undefined) base.amount = amount;
  const percent = percentOf(e.benefitPercent);
  if (percent !== undefined) base.percent = percent;
  const codes = codesOf(e).filter((c) => wanted.has(c));
  return codes.length === 0 ? [base] : codes.map((serviceType) => ({ ...base, serviceType }));
}

/** An AAA error of the answer (entries without a code are not AAA errors). */
export function aaaError(e: Obj): SummaryError[] {
  const code = text(e.code);
  if (!code) return [];
  const out: SummaryError = { code, advice: aaaAdvice(code) };
  const description = text(e.description);
  if (description) out.description = description;
  const followupAction = text(e.followupAction);
  if (followupAction) out.followupAction = followupAction;
  const location = text(e.location);
  if (location) out.location = location;
  return [out];
}
