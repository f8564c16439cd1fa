/**
 * The request bodies the simulator accepts, checked loosely as Stedi does: Stedi's v3 format and
 * its 2026-06-01 format. Both are reduced to one SimRequest, so outcomes, mocks and faults are the
 * same whichever endpoint is called.
 */
import { z } from 'zod';
import type { EligibilityEndpoint } from '../shared/stedi-api.js';

const yyyymmdd = z.string().regex(/^\d{8}$/, 'must be YYYYMMDD');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const npi = z.string().regex(/^\d{10}$/, 'must be 10 digits');

/** Zod schema of a v3 eligibility request (unknown fields pass through, as at Stedi). */
const simulatedRequestSchema = z
  .object({
    controlNumber: z
      .string()
      .regex(/^\d{9}$/, 'must be 9 digits')
      .optional(),
    submitterTransactionIdentifier: z.string().optional(),
    tradingPartnerServiceId: z.string().min(1, 'is required'),
    provider: z
      .object({
        organizationName: z.string().optional(),
        firstName: z.string().optional(),
        lastName: z.string().optional(),
        npi,
      })
      .passthrough(),
    subscriber: z
      .object({
        memberId: z.string().min(1).optional(),
        firstName: z.string().optional(),
        lastName: z.string().optional(),
        dateOfBirth: yyyymmdd.optional(),
      })
      .passthrough()
      .refine((s) => s.memberId !== undefined || (s.firstName && s.lastName && s.dateOfBirth), {
        message: 'needs memberId, or firstName, lastName and dateOfBirth',
      }),
    encounter: z
      .object({ serviceTypeCodes: z.array(z.string()).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();

const personName = z
  .object({ firstName: z.string().optional(), lastName: z.string().optional() })
  .passthrough();
const name = z
  .object({ person: personName.optional(), organization: z.string().optional() })
  .passthrough();

/** Zod schema of a 2026-06-01 request: Stedi's minimum is one of memberId, dateOfBirth, lastName. */
const simulatedCheckRequestSchema = z
  .object({
    payerId: z.string().min(1, 'is required'),
    provider: z.object({ name, npi }).passthrough(),
    subscriber: z
      .object({
        name: name.optional(),
        memberId: z.string().min(1).optional(),
        dateOfBirth: isoDate.optional(),
      })
      .passthrough()
      .refine(
        (s) => s.memberId !== undefined || s.dateOfBirth !== undefined || s.name?.person?.lastName,
        { message: 'needs memberId, dateOfBirth or name.person.lastName' },
      ),
    encounter: z
      .object({
        services: z
          .array(z.object({ value: z.string().min(1), system: z.string().min(1) }).passthrough())
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

/** A request the simulator accepted, whichever endpoint took it. */
export interface SimRequest {
  readonly endpoint: EligibilityEndpoint;
  readonly payer: string;
  readonly controlNumber?: string;
  readonly provider: {
    readonly name?: string | undefined;
    readonly organization: boolean;
    readonly npi: string;
  };
  /** Subscriber values named as Stedi's mock list names them (v3, dates as YYYYMMDD). */
  readonly subscriber: Readonly<Record<string, string>>;
  readonly serviceTypeCodes: readonly string[];
}

/** A field Stedi's validation rejected, as each endpoint names it. */
export interface SimIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

const strings = (o: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );

/** Parses `body` as `endpoint` takes it. */
export function parseSimRequest(
  endpoint: EligibilityEndpoint,
  body: unknown,
): { ok: true; request: SimRequest } | { ok: false; issues: readonly SimIssue[] } {
  if (endpoint === 'v3') {
    const parsed = simulatedRequestSchema.safeParse(body);
    if (!parsed.success) return { ok: false, issues: parsed.error.issues };
    const r = parsed.data;
    return {
      ok: true,
      request: {
        endpoint,
        payer: r.tradingPartnerServiceId,
        ...(r.controlNumber ? { controlNumber: r.controlNumber } : {}),
        provider: {
          ...(r.provider.organizationName || r.provider.lastName
            ? { name: r.provider.organizationName ?? r.provider.lastName }
            : {}),
          organization: r.provider.organizationName !== undefined,
          npi: r.provider.npi,
        },
        subscriber: strings(r.subscriber),
        serviceTypeCodes: r.encounter?.serviceTypeCodes ?? ['30'],
      },
    };
  }
  const parsed = simulatedCheckRequestSchema.safeParse(body);
  if (!parsed.success) return { ok: false, issues: parsed.error.issues };
  const r = parsed.data;
  const person = r.subscriber.name?.person ?? {};
  const stc = (r.encounter?.services ?? []).filter((s) => s.system === 'STC').map((s) => s.value);
  return {
    ok: true,
    request: {
      endpoint,
      payer: r.payerId,
      provider: {
        ...(r.provider.name.organization || r.provider.name.person?.lastName
          ? { name: r.provider.name.organization ?? r.provider.name.person?.lastName }
          : {}),
        organization: r.provider.name.organization !== undefined,
        npi: r.provider.npi,
      },
      subscriber: strings({
        memberId: r.subscriber.memberId,
        firstName: person.firstName,
        lastName: person.lastName,
        dateOfBirth: r.subscriber.dateOfBirth?.replaceAll('-', ''),
      }),
      serviceTypeCodes: stc.length > 0 ? stc : ['30'],
    },
  };
}
