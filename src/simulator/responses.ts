/** Stedi-shaped response bodies (see ../shared/stedi for the documented shapes). */
import { randomUUID } from 'node:crypto';
import type { Outcome } from './mock-catalog.js';
import type { SimulatedRequest } from './request-schema.js';

const upper = (s: unknown) => (typeof s === 'string' ? s.toUpperCase() : undefined);

/** A 200 eligibility response for `outcome`. */
export function eligibilityResponse(
  req: SimulatedRequest,
  outcome: Outcome,
  random: () => number,
): Record<string, unknown> {
  const controlNumber = req.controlNumber ?? String(Math.floor(random() * 1e9)).padStart(9, '0');
  const traceId = randomUUID();
  const serviceTypeCodes = req.encounter?.serviceTypeCodes ?? ['30'];
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
    tradingPartnerServiceId: req.tradingPartnerServiceId,
    provider: {
      providerName: upper(req.provider.organizationName) ?? upper(req.provider.lastName),
      entityIdentifier: 'Provider',
      entityType: req.provider.organizationName ? 'Non-Person Entity' : 'Person',
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
      name: `PAYER ${req.tradingPartnerServiceId}`,
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
          followupAction:
            outcome.code === '42' ? 'Resubmission Allowed' : 'Please Correct and Resubmit',
          location: 'Loop 2100C',
          possibleResolutions: 'Simulated AAA error.',
        },
      ],
      benefitsInformation: [],
      planStatus: [],
    };
  }
  const active = outcome.kind === 'active';
  return {
    ...base,
    planInformation: { groupNumber: 'SIM0001', groupDescription: 'SIMULATED PLAN' },
    planDateInformation: { planBegin: '20260101', eligibilityBegin: '20260101' },
    planStatus: [
      {
        statusCode: active ? '1' : '6',
        status: active ? 'Active Coverage' : 'Inactive',
        serviceTypeCodes,
      },
    ],
    benefitsInformation: active
      ? [
          { code: '1', name: 'Active Coverage', serviceTypeCodes, coverageLevelCode: 'IND' },
          {
            code: 'B',
            name: 'Co-Payment',
            serviceTypeCodes,
            benefitAmount: '25',
            inPlanNetworkIndicatorCode: 'Y',
          },
          {
            code: 'C',
            name: 'Deductible',
            serviceTypeCodes,
            timeQualifierCode: '23',
            benefitAmount: '1500',
          },
        ]
      : [{ code: '6', name: 'Inactive', serviceTypeCodes }],
    errors: [],
  };
}

/** 400 body for a payer Stedi does not know (error code 33). */
export function payerNotConfigured(req: {
  controlNumber?: string | undefined;
  tradingPartnerServiceId: string;
}): Record<string, unknown> {
  return {
    controlNumber: req.controlNumber ?? '000000000',
    tradingPartnerServiceId: req.tradingPartnerServiceId,
    errors: [
      {
        code: '33',
        description: `Payer ${req.tradingPartnerServiceId} is not configured. Please check our published payer list or contact Stedi support to resolve.`,
        followupAction: 'C',
      },
    ],
    status: 'ERROR',
  };
}
