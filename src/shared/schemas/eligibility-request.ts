/**
 * Zod schema of a Stedi eligibility request (v3, Stedi's JSON format). The producer validates
 * with it before anything is enqueued; the worker validates again before calling Stedi. Unknown
 * fields pass through, because Stedi accepts more than we model.
 */
import { z } from 'zod';
import { isValidNpi } from './npi.js';

/** True when `s` is YYYYMMDD and names a real calendar date. */
export function isRealDate(s: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    y >= 1850
  );
}

/** A YYYYMMDD date that exists. */
const date = z
  .string()
  .regex(/^\d{8}$/, 'must be a date as YYYYMMDD')
  .refine(isRealDate, 'must be a real calendar date (YYYYMMDD)');
// Today as YYYYMMDD (UTC), worked out once a day: every submitted check asks for it.
let today = { ymd: '', until: 0 };
/** Today (UTC) as YYYYMMDD. */
export function todayYmd(): string {
  const now = Date.now();
  if (now >= today.until) {
    const d = new Date(now);
    const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    today = { ymd: d.toISOString().slice(0, 10).replaceAll('-', ''), until: midnight };
  }
  return today.ymd;
}

const birthDate = date.refine((s) => s <= todayYmd(), { message: 'must not be in the future' });
/** A person's name as payers take it. */
export const personName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(60, 'must be at most 60 characters')
  .regex(/^[\p{L}][\p{L} .'-]*$/u, "may contain letters, spaces, . ' and - only");
/** A member id: letters, digits and dashes. */
export const memberId = z
  .string()
  .trim()
  .min(2, 'must be at least 2 characters')
  .max(80, 'must be at most 80 characters')
  .regex(/^[A-Za-z0-9-]+$/, 'may contain letters, digits and - only');

/** The subscriber (or a dependent) whose coverage is checked. */
export const personSchema = z
  .object({
    memberId: memberId.optional(),
    firstName: personName.optional(),
    lastName: personName.optional(),
    middleName: personName.optional(),
    dateOfBirth: birthDate.optional(),
    gender: z.enum(['M', 'F', 'U']).optional(),
  })
  .passthrough();

/** A v3 eligibility request as Stedi accepts it. */
export const eligibilityRequestSchema = z
  .object({
    tradingPartnerServiceId: z
      .string()
      .trim()
      .min(1, 'is required (the payer id)')
      .max(80)
      .regex(/^[A-Za-z0-9]+$/, 'may contain letters and digits only'),
    controlNumber: z
      .string()
      .regex(/^\d{9}$/, 'must be 9 digits')
      .optional(),
    submitterTransactionIdentifier: z.string().min(1).max(50).optional(),
    provider: z
      .object({
        organizationName: z.string().trim().min(1).max(60).optional(),
        firstName: personName.optional(),
        lastName: personName.optional(),
        npi: z
          .string()
          .regex(/^\d{10}$/, 'must be 10 digits')
          .refine(isValidNpi, 'fails the NPI check digit'),
      })
      .passthrough()
      .refine((p) => p.organizationName !== undefined || p.lastName !== undefined, {
        message: 'needs organizationName, or firstName and lastName',
        path: ['organizationName'],
      }),
    subscriber: personSchema.refine(
      (s) =>
        s.memberId !== undefined ||
        (s.firstName !== undefined && s.lastName !== undefined && s.dateOfBirth !== undefined),
      { message: 'needs memberId, or firstName, lastName and dateOfBirth', path: ['memberId'] },
    ),
    dependents: z.array(personSchema).max(10).optional(),
    encounter: z
      .object({
        serviceTypeCodes: z
          .array(z.string().regex(/^[A-Z0-9]{1,2}$/, 'must be a 1-2 character service type code'))
          .min(1)
          .max(99)
          .optional(),
        beginningDateOfService: date.optional(),
        endDateOfService: date.optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

/** A validated eligibility request. */
export type EligibilityRequest = z.infer<typeof eligibilityRequestSchema>;
