/** Stedi-shaped v3 response bodies (see ../shared/stedi for the documented shapes). */
import { randomUUID } from 'node:crypto';
import type { Outcome } from './mock-catalog.js';
import type { SimRequest } from './request-schema.js';
import { simulatedPlan } from './simulated-plan.js';

const upper = (s: unknown) => (typeof s === 'string' ? s.toUpperCase() : undefined);

/** The follow-up action payers send with an AAA code. */
export function followupActionOf(code: string): string {
  return code === '42' || code === '80' ? 'Resubmission Allowed' : 'Please Correct and Resubmit';
}

/** A 200 v3 eligibility response for `outcome`. */
export function eligibilityResponse(
  req: SimRequest,
  outcome: Outcome,
  random: () => number,
): Record<string, unknown> {
  const controlNumber = req.controlNumber ?? String(Math.floor(random() * 1e9)).padStart(9, '0');
  const traceId = randomUUID();
  const serviceTypeCodes = [...req.serviceTypeCodes];
  const base = {
    id: `ec_${randomUUID()}`,
    meta: {
      senderId: 'SIMULATOR',
      submitterId: 'SIMULATOR',
      applicationMode: 'simulator',
      traceId,
    },
    controlNumber,
    reassociationKey: controlNumber,
    tradingPartnerServiceId: req.payer,
    provider: {
      providerName: upper(req.provider.name),
      entityIdentifier: 'Provider',
      entityType: req.provider.organization ? 'Non-Person Entity' : 'Person',
      npi: req.provider.npi,
    },
    subscriber: {
      memberId: req.subscriber.memberId,
      firstName: upper(req.subscriber.firstName),
      lastName: upper(req.subscriber.lastName),
      dateOfBirth: req.subscriber.dateOfBirth,
      entityIdentifier: 'Insured or Subscriber',
      entityType: 'Person',
    },
    payer: {
      entityIdentifier: 'Payer',
      entityType: 'Non-Person Entity',
      name: `PAYER ${req.payer}`,
    },
    warnings: [],
  };
  if (outcome.kind === 'aaa') {
    return {
      ...base,
      errors: [
        {
          field: 'AAA',
          code: outcome.code,
          description: outcome.description,
          followupAction: followupActionOf(outcome.code),
          location: 'Loop 2100C',
          possibleResolutions: 'Simulated AAA error.',
        },
      ],
      benefitsInformation: [],
      planStatus: [],
    };
  }
  const active = outcome.kind === 'active';
  const individual = { coverageLevelCode: 'IND', coverageLevel: 'Individual' };
  const ymd = (iso: string) => iso.replaceAll('-', '');
  return {
    ...base,
    planInformation: { groupNumber: 'SIM0001', groupDescription: 'SIMULATED GROUP' },
    planDateInformation: {
      planBegin: ymd(simulatedPlan.start),
      planEnd: ymd(simulatedPlan.end),
      eligibilityBegin: ymd(simulatedPlan.start),
    },
    planStatus: [
      {
        statusCode: active ? '1' : '6',
        status: active ? 'Active Coverage' : 'Inactive',
        planDetails: simulatedPlan.name,
        serviceTypeCodes,
      },
    ],
    benefitsInformation: active
      ? [
          {
            code: '1',
            name: 'Active Coverage',
            serviceTypeCodes,
            ...individual,
            planCoverage: simulatedPlan.name,
          },
          ...simulatedPlan.costSharing.map((c) => ({
            ...v3Benefit[c.type],
            serviceTypeCodes,
            ...(c.timePeriod ? v3TimeQualifier[c.timePeriod] : {}),
            ...(c.amount ? { benefitAmount: c.amount } : {}),
            ...(c.percent ? { benefitPercent: c.percent } : {}),
            ...individual,
            ...v3Network[c.network],
          })),
        ]
      : [{ code: '6', name: 'Inactive', serviceTypeCodes }],
    errors: [],
  };
}

/** X12 EB01 of each cost-sharing type. */
const v3Benefit = {
  coPayment: { code: 'B', name: 'Co-Payment' },
  coInsurance: { code: 'A', name: 'Co-Insurance' },
  deductible: { code: 'C', name: 'Deductible' },
  outOfPocket: { code: 'G', name: 'Out of Pocket (Stop Loss)' },
} as const;
/** X12 EB06 of each time period. */
const v3TimeQualifier = {
  CALENDAR_YEAR: { timeQualifierCode: '23', timeQualifier: 'Calendar Year' },
  REMAINING: { timeQualifierCode: '29', timeQualifier: 'Remaining' },
} as const;
/** X12 EB12 of each network. */
const v3Network = {
  IN_NETWORK: { inPlanNetworkIndicatorCode: 'Y', inPlanNetworkIndicator: 'Yes' },
  OUT_OF_NETWORK: { inPlanNetworkIndicatorCode: 'N', inPlanNetworkIndicator: 'No' },
} as const;

/** 400 v3 body for a payer Stedi does not know (error code 33). */
export function payerNotConfigured(req: {
  controlNumber?: string | undefined;
  payer: string;
}): Record<string, unknown> {
  return {
    controlNumber: req.controlNumber ?? '000000000',
    tradingPartnerServiceId: req.payer,
    errors: [
      {
        code: '33',
        description: `Payer ${req.payer} is not configured. Please check our published payer list or contact Stedi support to resolve.`,
        followupAction: 'C',
      },
    ],
    status: 'ERROR',
  };
}
