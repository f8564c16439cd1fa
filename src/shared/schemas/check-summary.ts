/**
 * The normalized summary of a completed check: what a front desk reads, the same whichever
 * endpoint answered. It holds no patient identifier (no name, member id or birth date), and is
 * stored encrypted like the full answer all the same.
 */
import { z } from 'zod';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** One cost-sharing benefit for a requested service type (or the plan as a whole). */
export const summaryBenefitSchema = z.object({
  type: z.enum(['copay', 'coinsurance', 'deductible', 'outOfPocket']),
  /** The service type code it applies to; absent when the payer scoped it to the whole plan. */
  serviceType: z.string().optional(),
  /** In network, out of network, both, or not said. */
  network: z.enum(['in', 'out', 'both', 'unknown']),
  /** INDIVIDUAL, FAMILY, EMPLOYEE_AND_SPOUSE, … (the 2026-06-01 names; v3 codes are mapped). */
  coverageLevel: z.string().optional(),
  /** CALENDAR_YEAR, REMAINING, SERVICE_YEAR, VISIT, … (the 2026-06-01 names; v3 codes mapped). */
  period: z.string().optional(),
  /** Dollars (copay, deductible, out-of-pocket). */
  amount: z.number().optional(),
  /** The patient's share in percent, 0 to 100 (co-insurance). */
  percent: z.number().optional(),
});

/** An AAA error from the payer, with the payer's follow-up action and what to do about it. */
export const summaryErrorSchema = z.object({
  code: z.string(),
  description: z.string().optional(),
  /** The payer's follow-up action, as sent. */
  followupAction: z.string().optional(),
  location: z.string().optional(),
  /** What a person can do about this code. */
  advice: z.string(),
});

/** The summary of a completed check. */
export const checkSummarySchema = z.object({
  /** The Stedi endpoint whose answer this summarizes (`stedi-batch`: the Batch Eligibility API). */
  answeredBy: z.enum(['v3', '2026-06-01', 'stedi-batch']),
  /** Coverage for the requested service types; `unknown` when the payer answered only errors. */
  coverage: z.enum(['active', 'inactive', 'unknown']),
  plan: z.object({
    name: z.string().optional(),
    begin: isoDate.optional(),
    end: isoDate.optional(),
    eligibilityBegin: isoDate.optional(),
    eligibilityEnd: isoDate.optional(),
  }),
  /** The service type codes the check asked about (30 when it named none). */
  serviceTypes: z.array(z.string()),
  benefits: z.array(summaryBenefitSchema),
  errors: z.array(summaryErrorSchema),
});

export type CheckSummary = z.infer<typeof checkSummarySchema>;
export type SummaryBenefit = z.infer<typeof summaryBenefitSchema>;
export type SummaryError = z.infer<typeof summaryErrorSchema>;
