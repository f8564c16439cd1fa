/** Stedi-shaped v3 response bodies (see ../shared/stedi for the documented shapes). */
import { randomUUID } from 'node:crypto';
import type { Outcome } from './mock-catalog.js';
import type { SimRequest } from './request-schema.js';

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
  const inNetwork = { inPlanNetworkIndicatorCode: 'Y', inPlanNetworkIndicator: 'Yes' };
  const outOfNetwork = { inPlanNetworkIndicatorCode: 'N', inPlanNetworkIndicator: 'No' };
  const individual = { coverageLevelCode: 'IND', coverageLevel: 'Individual' };
  return {
    ...base,
    planInformation: { groupNumber: 'SIM0001', groupDescription: 'SIMULATED GROUP' },
    planDateInformation: {
      planBegin: '20260101',
      planEnd: '20261231',
      eligibilityBegin: '20260101',
    },
    planStatus: [
      {
        statusCode: active ? '1' : '6',
        status: active ? 'Active Coverage' : 'Inactive',
        planDetails: 'SIMULATED PPO',
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
            planCoverage: 'SIMULATED PPO',
          },
          {
            code: 'B',
            name: 'Co-Payment',
            serviceTypeCodes,
            benefitAmount: '25',
            ...individual,
            ...inNetwork,
          },
          {
            code: 'B',
            name: 'Co-Payment',
            serviceTypeCodes,
            benefitAmount: '60',
            ...individual,
            ...outOfNetwork,
          },
          {
            code: 'A',
            name: 'Co-Insurance',
            serviceTypeCodes,
            benefitPercent: '0.2',
            ...individual,
            ...inNetwork,
          },
          {
            code: 'C',
            name: 'Deductible',
            serviceTypeCodes,
            timeQualifierCode: '23',
            timeQualifier: 'Calendar Year',
            benefitAmount: '1500',
            ...individual,
            ...inNetwork,
          },
          {
            code: 'C',
            name: 'Deductible',
            serviceTypeCodes,
            timeQualifierCode: '29',
            timeQualifier: 'Remaining',
            benefitAmount: '600',
            ...individual,
            ...inNetwork,
          },
          {
            code: 'G',
            name: 'Out of Pocket (Stop Loss)',
            serviceTypeCodes,
            timeQualifierCode: '23',
            timeQualifier: 'Calendar Year',
            benefitAmount: '6000',
            ...individual,
            ...inNetwork,
          },
        ]
      : [{ code: '6', name: 'Inactive', serviceTypeCodes }],
    errors: [],
  };
}

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
