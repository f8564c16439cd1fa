/** Path of Stedi's eligibility v3 endpoint, which the worker calls and the simulator serves. */
export const ELIGIBILITY_V3_PATH = '/2024-04-01/change/medicalnetwork/eligibility/v3';
