import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';

/** A valid check for simulated member `memberId` (payer 87726). */
export function checkRequest(memberId: string): EligibilityRequest {
  return {
    tradingPartnerServiceId: '87726',
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
