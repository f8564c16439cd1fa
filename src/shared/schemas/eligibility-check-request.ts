/**
 * Zod schema of a request to Stedi's `POST /2026-06-01/eligibility-check` endpoint, modelled on
 * Stedi's own SDK (github.com/Stedi/sdk, CreateEligibilityCheckInput): names as `{ person }` or
 * `{ organization }`, dates as YYYY-MM-DD, services as `{ value, system }`, one dependent. The
 * same rules as our v3 validation apply (NPI check digit, real dates, the subscriber's minimum
 * identification). Unknown fields pass through, as in v3.
 */
import { z } from 'zod';
import { isValidNpi } from './npi.js';
import { isRealDate, memberId, personName, todayYmd } from './eligibility-request.js';

/** True when `s` is YYYY-MM-DD and names a real calendar date. */
function isRealIsoDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && isRealDate(s.replaceAll('-', ''));
}

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date as YYYY-MM-DD')
  .refine(isRealIsoDate, 'must be a real calendar date (YYYY-MM-DD)');
const isoBirthDate = isoDate.refine((s) => s.replaceAll('-', '') <= todayYmd(), {
  message: 'must not be in the future',
});

const personNameParts = z
  .object({
    firstName: personName.optional(),
    lastName: personName.optional(),
    middleName: personName.optional(),
    suffix: z.string().trim().min(1).max(10).optional(),
  })
  .strict();

/** `{ person }` or `{ organization }`, exactly one (Stedi's union). */
const personOrOrganization = z
  .object({
    person: personNameParts.optional(),
    organization: z.string().trim().min(1).max(60).optional(),
  })
  .strict()
  .refine((n) => (n.person === undefined) !== (n.organization === undefined), {
    message: 'needs exactly one of person or organization',
  });

const gender = z.enum(['MALE', 'FEMALE']);

/** The code systems Stedi lists for `encounter.services[].system`. */
const serviceCodeSystems = ['STC', 'CPT', 'HCPCS', 'CDT', 'NDC', 'ICD-10-PCS'] as const;

const service = z
  .object({
    value: z
      .string()
      .trim()
      .min(1, 'is required')
      .max(48)
      .regex(/^[A-Za-z0-9]+$/, 'may contain letters and digits only'),
    system: z.enum(serviceCodeSystems),
  })
  .strict()
  .refine((s) => s.system !== 'STC' || /^[A-Z0-9]{1,2}$/.test(s.value), {
    message: 'must be a 1-2 character service type code',
    path: ['value'],
  });

/** A request in the 2026-06-01 shape as Stedi accepts it. */
export const eligibilityCheckRequestSchema = z
  .object({
    payerId: z
      .string()
      .trim()
      .min(1, 'is required (the payer id)')
      .max(80)
      .regex(/^[A-Za-z0-9]+$/, 'may contain letters and digits only'),
    payerName: z.string().trim().min(1).max(60).optional(),
    provider: z
      .object({
        name: personOrOrganization.refine(
          (n) => n.person === undefined || n.person.lastName !== undefined,
          { message: 'person needs lastName', path: ['person', 'lastName'] },
        ),
        npi: z
          .string()
          .regex(/^\d{10}$/, 'must be 10 digits')
          .refine(isValidNpi, 'fails the NPI check digit'),
      })
      .passthrough(),
    subscriber: z
      .object({
        name: personOrOrganization.optional(),
        memberId: memberId.optional(),
        dateOfBirth: isoBirthDate.optional(),
        gender: gender.optional(),
      })
      .passthrough()
      .refine(
        (s) =>
          s.memberId !== undefined ||
          (s.name?.person?.firstName !== undefined &&
            s.name.person.lastName !== undefined &&
            s.dateOfBirth !== undefined),
        {
          message: 'needs memberId, or name.person.firstName, lastName and dateOfBirth',
          path: ['memberId'],
        },
      ),
    dependent: z
      .object({
        name: z
          .object({
            person: personNameParts.refine(
              (p) => p.firstName !== undefined && p.lastName !== undefined,
              { message: 'needs firstName and lastName' },
            ),
          })
          .strict(),
        relationToSubscriber: z.enum(['SPOUSE', 'CHILD', 'OTHER_ADULT']).optional(),
        dateOfBirth: isoBirthDate.optional(),
        gender: gender.optional(),
      })
      .passthrough()
      .optional(),
    encounter: z
      .object({
        services: z.array(service).min(1).max(99).optional(),
        dates: z
          .object({
            service: z.object({ start: isoDate.optional(), end: isoDate.optional() }).strict(),
          })
          .strict()
          .optional(),
      })
      .passthrough()
      .optional(),
    externalPatientId: z.string().trim().min(1).max(80).optional(),
    eligibilitySearchId: z.string().trim().min(1).max(80).optional(),
  })
  .passthrough();

/** A validated request in the 2026-06-01 shape. */
export type EligibilityCheckRequest = z.infer<typeof eligibilityCheckRequestSchema>;
