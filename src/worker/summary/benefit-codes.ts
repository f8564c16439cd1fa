/**
 * v3 (X12 271) codes of the summary's fields, mapped to the names Stedi's 2026-06-01 answer spells
 * out, so one summary reads the same whichever endpoint answered.
 */

/** EB01 eligibility or benefit codes the summary uses. */
export const v3BenefitType: Readonly<
  Record<string, 'copay' | 'coinsurance' | 'deductible' | 'outOfPocket'>
> = {
  A: 'coinsurance',
  B: 'copay',
  C: 'deductible',
  G: 'outOfPocket',
};

/** EB01 codes 1-5 are kinds of active coverage, 6-8 of inactive. */
export function v3Coverage(code: unknown): 'active' | 'inactive' | undefined {
  if (typeof code !== 'string') return undefined;
  if (/^[1-5]$/.test(code)) return 'active';
  if (/^[6-8]$/.test(code)) return 'inactive';
  return undefined;
}

/** EB02 coverage level codes. */
export const v3CoverageLevel: Readonly<Record<string, string>> = {
  IND: 'INDIVIDUAL',
  FAM: 'FAMILY',
  EMP: 'EMPLOYEE_ONLY',
  ESP: 'EMPLOYEE_AND_SPOUSE',
  ECH: 'EMPLOYEE_AND_CHILDREN',
  CHD: 'CHILDREN_ONLY',
  DEP: 'DEPENDENTS_ONLY',
  SPC: 'SPOUSE_AND_CHILDREN',
  SPO: 'SPOUSE_ONLY',
};

/** EB06 time period qualifiers. */
export const v3TimePeriod: Readonly<Record<string, string>> = {
  '6': 'HOUR',
  '7': 'DAY',
  '13': '24_HOURS',
  '21': 'YEARS',
  '22': 'SERVICE_YEAR',
  '23': 'CALENDAR_YEAR',
  '24': 'YEAR_TO_DATE',
  '25': 'CONTRACT',
  '26': 'EPISODE',
  '27': 'VISIT',
  '28': 'OUTLIER',
  '29': 'REMAINING',
  '30': 'EXCEEDED',
  '31': 'NOT_EXCEEDED',
  '32': 'LIFETIME',
  '33': 'LIFETIME_REMAINING',
  '34': 'MONTH',
  '35': 'WEEK',
  '36': 'ADMISSION',
};

/** EB12 in-plan network indicator: Y in, N out, W not applicable (both), U unknown. */
export function v3Network(code: unknown): 'in' | 'out' | 'both' | 'unknown' {
  if (code === 'Y') return 'in';
  if (code === 'N') return 'out';
  if (code === 'W') return 'both';
  return 'unknown';
}

/** The 2026-06-01 network indicator. */
export function network2026(indicator: unknown): 'in' | 'out' | 'both' | 'unknown' {
  if (indicator === 'IN_NETWORK') return 'in';
  if (indicator === 'OUT_OF_NETWORK') return 'out';
  if (indicator === 'IN_AND_OUT_OF_NETWORK') return 'both';
  return 'unknown';
}

/** A money amount as a number, or undefined. */
export function amountOf(v: unknown): number | undefined {
  const n = typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A co-insurance share in percent. Both endpoints send a decimal fraction (`0.2` for 20%); a payer
 * that sends `20` instead is read as percent already.
 */
export function percentOf(v: unknown): number | undefined {
  const n = amountOf(v);
  if (n === undefined || n < 0) return undefined;
  return Math.round((n <= 1 ? n * 100 : n) * 100) / 100;
}

/** YYYYMMDD as YYYY-MM-DD; anything else undefined. */
export function isoOfYmd(v: unknown): string | undefined {
  return typeof v === 'string' && /^\d{8}$/.test(v)
    ? `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`
    : undefined;
}

/** A YYYY-MM-DD date, or undefined. */
export function isoDateOf(v: unknown): string | undefined {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : undefined;
}
