/** Paths of Stedi's eligibility endpoints, which the worker calls and the simulator serves. */
import type { RequestShape } from './schemas/check-request.js';

/** Path of Stedi's eligibility v3 endpoint ("legacy" since September 2026, still supported). */
export const ELIGIBILITY_V3_PATH = '/2024-04-01/change/medicalnetwork/eligibility/v3';
/** Path of Stedi's 2026-06-01 real-time endpoint, v3's successor. */
export const ELIGIBILITY_CHECK_PATH = '/2026-06-01/eligibility-check';

/** A real-time endpoint, named after the request shape it takes. */
export type EligibilityEndpoint = RequestShape;

/** The path of each real-time endpoint. */
export const eligibilityPaths: Readonly<Record<EligibilityEndpoint, string>> = {
  v3: ELIGIBILITY_V3_PATH,
  '2026-06-01': ELIGIBILITY_CHECK_PATH,
};

/** Stedi's Batch Eligibility API (host manager.us.stedi.com): submit, status, items, results. */
export const batchApiPaths = {
  submit: '/2024-04-01/eligibility-manager/batch-eligibility',
  status: (batchId: string) =>
    `/2024-04-01/eligibility-manager/batch/${encodeURIComponent(batchId)}`,
  items: (batchId: string) =>
    `/2024-04-01/eligibility-manager/batch/${encodeURIComponent(batchId)}/items`,
  results: '/2024-04-01/eligibility-manager/polling/batch-eligibility',
} as const;
