import { describe, expect, it } from 'vitest';
import { checkSummarySchema } from '../../../src/shared/schemas/check-summary.js';
import type { SimRequest } from '../../../src/simulator/request-schema.js';
import { eligibilityResponse } from '../../../src/simulator/responses.js';
import { eligibilityCheckResponse } from '../../../src/simulator/responses-2026.js';
import { summarizeAnswer } from '../../../src/worker/summary/summarize.js';

/** A v3 answer as payers send them: several service types, both networks, two levels. */
const v3Answer = {
  meta: { traceId: 't1' },
  subscriber: { memberId: 'W123', firstName: 'JANE', lastName: 'DOE', dateOfBirth: '19800101' },
  planInformation: { groupNumber: 'G1', groupDescription: 'ACME EMPLOYEES' },
  planDateInformation: { plan: '20260101-20261231', eligibilityBegin: '20250601' },
  planStatus: [{ statusCode: '1', status: 'Active Coverage', serviceTypeCodes: ['30', '98'] }],
  benefitsInformation: [
    {
      code: '1',
      serviceTypeCodes: ['30'],
      coverageLevelCode: 'IND',
      planCoverage: 'OPEN ACCESS PLUS',
    },
    { code: 'B', serviceTypeCodes: ['98'], benefitAmount: '30', inPlanNetworkIndicatorCode: 'Y' },
    {
      code: 'C',
      coverageLevelCode: 'FAM',
      timeQualifierCode: '23',
      benefitAmount: '3000',
      inPlanNetworkIndicatorCode: 'Y',
    },
    {
      code: 'C',
      coverageLevelCode: 'IND',
      timeQualifierCode: '29',
      benefitAmount: '250.50',
      inPlanNetworkIndicatorCode: 'N',
    },
    {
      code: 'A',
      serviceTypeCodes: ['30', 'MH'],
      benefitPercent: '0.3',
      inPlanNetworkIndicatorCode: 'W',
    },
    {
      code: 'G',
      serviceTypeCodes: ['30'],
      coverageLevelCode: 'IND',
      timeQualifierCode: '23',
      benefitAmount: '6000',
    },
    { code: 'B', serviceTypeCodes: ['MH'], benefitAmount: '45', inPlanNetworkIndicatorCode: 'Y' },
  ],
  errors: [],
};

describe('summary of a v3 answer', () => {
  it('keeps the requested service types and plan-wide entries, in the 2026-06-01 names', () => {
    const summary = summarizeAnswer(v3Answer, 'v3', ['30']);
    expect(checkSummarySchema.parse(summary)).toEqual(summary);
    expect(summary).toMatchObject({
      answeredBy: 'v3',
      coverage: 'active',
      plan: {
        name: 'OPEN ACCESS PLUS',
        begin: '2026-01-01',
        end: '2026-12-31',
        eligibilityBegin: '2025-06-01',
      },
      serviceTypes: ['30'],
      errors: [],
    });
    expect(summary.benefits).toEqual([
      {
        type: 'deductible',
        network: 'in',
        coverageLevel: 'FAMILY',
        period: 'CALENDAR_YEAR',
        amount: 3000,
      },
      {
        type: 'deductible',
        network: 'out',
        coverageLevel: 'INDIVIDUAL',
        period: 'REMAINING',
        amount: 250.5,
      },
      { type: 'coinsurance', network: 'both', percent: 30, serviceType: '30' },
      {
        type: 'outOfPocket',
        network: 'unknown',
        coverageLevel: 'INDIVIDUAL',
        period: 'CALENDAR_YEAR',
        amount: 6000,
        serviceType: '30',
      },
    ]);
    expect(summarizeAnswer(v3Answer, 'v3', ['98']).benefits.map((b) => b.type)).toEqual([
      'copay',
      'deductible',
      'deductible',
    ]);
  });

  it('holds no patient identifier', () => {
    const text = JSON.stringify(summarizeAnswer(v3Answer, 'v3', ['30']));
    for (const value of ['W123', 'JANE', 'DOE', '19800101', '1980-01-01'])
      expect(text).not.toContain(value);
  });

  it("lists AAA errors with the payer's follow-up action and advice; coverage unknown", () => {
    const summary = summarizeAnswer(
      {
        errors: [
          {
            field: 'AAA',
            code: '75',
            description: 'Subscriber/Insured Not Found',
            followupAction: 'Please Correct and Resubmit',
            location: 'Loop 2100C',
          },
        ],
      },
      'v3',
      ['30'],
    );
    expect(summary.coverage).toBe('unknown');
    expect(summary.errors).toEqual([
      {
        code: '75',
        description: 'Subscriber/Insured Not Found',
        followupAction: 'Please Correct and Resubmit',
        location: 'Loop 2100C',
        advice: expect.stringContaining('member id'),
      },
    ]);
  });

  it('reads inactive coverage, and shrugs at answers that are not eligibility answers', () => {
    expect(summarizeAnswer({ planStatus: [{ statusCode: '6' }] }, 'v3', ['30']).coverage).toBe(
      'inactive',
    );
    for (const odd of [null, 'x', [], { benefitsInformation: 'x', planStatus: [1, null] }])
      expect(checkSummarySchema.safeParse(summarizeAnswer(odd, 'v3', ['30'])).success).toBe(true);
  });
});

describe('summary of a 2026-06-01 answer', () => {
  const answer = {
    id: 'ec_1',
    payerId: '60054',
    subscriber: {
      memberId: 'W123',
      name: { person: { firstName: 'JANE' } },
      dates: { eligibility: { start: '2025-06-01' } },
    },
    plans: [
      {
        name: 'DENTAL',
        benefits: {
          statuses: [
            {
              coverageLevel: 'INDIVIDUAL',
              status: 'INACTIVE',
              service: { system: 'STC', value: '30' },
            },
          ],
        },
      },
      {
        name: 'OPEN ACCESS PLUS',
        benefits: {
          statuses: [
            {
              coverageLevel: 'INDIVIDUAL',
              status: 'ACTIVE_COVERAGE',
              service: { system: 'STC', value: '30' },
              dates: { plan: { start: '2026-01-01', end: '2026-12-31' } },
            },
          ],
          coPayment: [
            {
              coverageLevel: 'INDIVIDUAL',
              amount: '30',
              network: { indicator: 'IN_NETWORK' },
              service: { system: 'STC', value: '98' },
            },
            {
              coverageLevel: 'INDIVIDUAL',
              amount: '20',
              network: { indicator: 'IN_NETWORK' },
              service: { system: 'CPT', value: '99213' },
            },
          ],
          coInsurance: [
            {
              coverageLevel: 'INDIVIDUAL',
              percent: '0.3',
              network: { indicator: 'IN_AND_OUT_OF_NETWORK' },
              service: { system: 'STC', value: '30' },
            },
          ],
          deductible: [
            {
              coverageLevel: 'FAMILY',
              amount: '3000.0',
              timePeriod: 'CALENDAR_YEAR',
              network: { indicator: 'IN_NETWORK' },
            },
          ],
          outOfPocket: [
            {
              coverageLevel: 'INDIVIDUAL',
              amount: '6000',
              timePeriod: 'REMAINING',
              network: { indicator: 'OUT_OF_NETWORK' },
              service: { system: 'STC', value: '30' },
            },
          ],
        },
      },
    ],
    errors: [],
  };

  it('picks the active plan and its benefits for the requested service types', () => {
    const summary = summarizeAnswer(answer, '2026-06-01', ['30']);
    expect(summary).toMatchObject({
      answeredBy: '2026-06-01',
      coverage: 'active',
      plan: {
        name: 'OPEN ACCESS PLUS',
        begin: '2026-01-01',
        end: '2026-12-31',
        eligibilityBegin: '2025-06-01',
      },
    });
    expect(summary.benefits).toEqual([
      {
        type: 'coinsurance',
        network: 'both',
        serviceType: '30',
        coverageLevel: 'INDIVIDUAL',
        percent: 30,
      },
      {
        type: 'deductible',
        network: 'in',
        coverageLevel: 'FAMILY',
        period: 'CALENDAR_YEAR',
        amount: 3000,
      },
      {
        type: 'outOfPocket',
        network: 'out',
        serviceType: '30',
        coverageLevel: 'INDIVIDUAL',
        period: 'REMAINING',
        amount: 6000,
      },
    ]);
  });
});

describe('one summary whichever endpoint answered', () => {
  const request: SimRequest = {
    endpoint: 'v3',
    payer: '87726',
    provider: { name: 'Clinic', organization: true, npi: '1999999984' },
    subscriber: { memberId: 'M1', firstName: 'Jane', lastName: 'Doe', dateOfBirth: '19800101' },
    serviceTypeCodes: ['30'],
  };
  it.each([
    { kind: 'active' as const },
    { kind: 'inactive' as const },
    { kind: 'aaa' as const, code: '72', description: 'Invalid/Missing Subscriber/Insured ID' },
  ])('gives the simulator’s $kind answer the same summary on v3 and on 2026-06-01', (outcome) => {
    const v3 = summarizeAnswer(eligibilityResponse(request, outcome, Math.random), 'v3', ['30']);
    const next = summarizeAnswer(eligibilityCheckResponse(request, outcome), '2026-06-01', ['30']);
    const strip = (s: typeof v3) => ({
      ...s,
      answeredBy: undefined,
      errors: s.errors.map((e) => ({ ...e, location: undefined })),
      benefits: [...s.benefits].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    });
    expect(strip(next)).toEqual(strip(v3));
    if (outcome.kind === 'active') expect(v3.benefits).toHaveLength(6);
  });
});
