/**
 * A check request in either of Stedi's real-time shapes: v3 (`tradingPartnerServiceId`, flat
 * names, YYYYMMDD) or 2026-06-01 (`payerId`, `{ person }` names, YYYY-MM-DD). The shape is told by
 * the payer field, so stored checks need no extra marker; each is validated by its own schema.
 */
import { z } from 'zod';
import { eligibilityRequestSchema, type EligibilityRequest } from './eligibility-request.js';
import {
  eligibilityCheckRequestSchema,
  type EligibilityCheckRequest,
} from './eligibility-check-request.js';

/** The two request shapes, named after Stedi's endpoints. */
export type RequestShape = 'v3' | '2026-06-01';

/** A validated request of either shape. */
export type CheckRequest = EligibilityRequest | EligibilityCheckRequest;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The shape `value` claims: 2026-06-01 when it names `payerId` and not `tradingPartnerServiceId`. */
export function shapeOf(value: unknown): RequestShape {
  return isObject(value) && 'payerId' in value && !('tradingPartnerServiceId' in value)
    ? '2026-06-01'
    : 'v3';
}

/** True for a validated request in the 2026-06-01 shape. */
export function isCheckRequest2026(r: CheckRequest): r is EligibilityCheckRequest {
  return 'payerId' in r && typeof r.payerId === 'string';
}

/** The payer id of a request of either shape. */
export function payerOf(r: CheckRequest): string {
  return isCheckRequest2026(r) ? r.payerId : r.tradingPartnerServiceId;
}

/** The provider NPI of a request of either shape. */
export function npiOf(r: CheckRequest): string {
  return r.provider.npi;
}

/** The service type codes the request asks about (Stedi's default, 30, when it names none). */
export function requestedServiceTypes(r: CheckRequest): string[] {
  const codes = isCheckRequest2026(r)
    ? (r.encounter?.services ?? []).filter((s) => s.system === 'STC').map((s) => s.value)
    : (r.encounter?.serviceTypeCodes ?? []);
  return codes.length > 0 ? codes : ['30'];
}

/**
 * Validates a request of either shape, reporting issues with the paths of the shape it claims.
 * (A zod union would report "invalid input" for both shapes at once.)
 */
export const checkRequestSchema = z.unknown().transform((value, ctx): CheckRequest => {
  const schema =
    shapeOf(value) === '2026-06-01' ? eligibilityCheckRequestSchema : eligibilityRequestSchema;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues)
    ctx.issues.push({ code: 'custom', path: issue.path, message: issue.message, input: value });
  return z.NEVER;
});

/** Either shape, for documentation (OpenAPI): validation goes through checkRequestSchema. */
export const checkRequestDocSchema = z.union([
  eligibilityRequestSchema,
  eligibilityCheckRequestSchema,
]);
