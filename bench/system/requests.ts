import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';

/** A valid check for simulated member `memberId` of `payer` (87726 unless said). */
export function checkRequest(memberId: string, payer = '87726'): EligibilityRequest {
  return {
    tradingPartnerServiceId: payer,
    provider: { organizationName: 'Bench Clinic', npi: '1999999984' },
    subscriber: {
      memberId: `SIM${memberId}`,
      firstName: 'Bench',
      lastName: 'Patient',
      dateOfBirth: '19800101',
    },
    encounter: { serviceTypeCodes: ['30'] },
  };
}

/** `n` batch checks, every `every`-th one to `otherPayer` (the rest to 87726). */
export function mixedPayers(n: number, every: number, otherPayer: string): EligibilityRequest[] {
  return Array.from({ length: n }, (_, i) =>
    checkRequest(`B${i}`, i % every === every - 1 ? otherPayer : '87726'),
  );
}
