import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';

/** A valid request for a simulated (non-mock) member; `memberId` picks the member. */
export function checkRequest(memberId = 'SIM0000001', payer = '87726'): EligibilityRequest {
  return {
    controlNumber: '123456789',
    tradingPartnerServiceId: payer,
    provider: { organizationName: 'Test Clinic', npi: '1999999984' },
    subscriber: { memberId, firstName: 'Pat', lastName: 'Tester', dateOfBirth: '19800101' },
    encounter: { serviceTypeCodes: ['30'] },
  };
}
