/**
 * Response bodies of the simulated `POST /2026-06-01/eligibility-check`, in the shape of Stedi's
 * SDK (CreateEligibilityCheckOutput): `id` as `ec_<uuid>`, benefits grouped by plan with one array
 * per benefit type, values spelled out, dates as YYYY-MM-DD. Errors follow the SDK's exceptions:
 * `{ message }`, and `{ message, errors: [{ path, message }] }` for a rejected request.
 */
import { randomUUID } from 'node:crypto';
import type { Outcome } from './mock-catalog.js';
import type { SimRequest } from './request-schema.js';
import { followupActionOf } from './responses.js';
import { simulatedPlan } from './simulated-plan.js';

const upper = (s: string | undefined) => s?.toUpperCase();
const iso = (ymd: string | undefined) =>
  ymd ? `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}` : undefined;

/** A 200 2026-06-01 eligibility response for `outcome`. */
export function eligibilityCheckResponse(
  req: SimRequest,
  outcome: Outcome,
): Record<string, unknown> {
  const person = {
    firstName: upper(req.subscriber.firstName),
    lastName: upper(req.subscriber.lastName),
  };
  const base = {
    id: `ec_${randomUUID()}`,
    meta: { traceId: randomUUID() },
    payerId: req.payer,
    // A placeholder 271: the simulator does not build X12.
    x12: 'ST*271*0001*005010X279A1~SE*2*0001~',
    payer: { type: 'PAYER', name: { organization: `PAYER ${req.payer}` } },
    provider: {
      type: 'PROVIDER',
      name: req.provider.organization
        ? { organization: upper(req.provider.name) }
        : { person: { lastName: upper(req.provider.name) } },
      npi: req.provider.npi,
    },
    subscriber: {
      memberId: req.subscriber.memberId,
      name: { person },
      dateOfBirth: iso(req.subscriber.dateOfBirth),
    },
    warnings: [],
  };
  if (outcome.kind === 'aaa') {
    return {
      ...base,
      errors: [
        {
          code: outcome.code,
          description: outcome.description,
          followupAction: followupActionOf(outcome.code),
          location: 'SUBSCRIBER',
          possibleResolutions: 'Simulated AAA error.',
        },
      ],
    };
  }
  const active = outcome.kind === 'active';
  const plan = { start: simulatedPlan.start, end: simulatedPlan.end };
  const entries = req.serviceTypeCodes.map((value) => ({
    coverageLevel: 'INDIVIDUAL',
    service: { value, system: 'STC' },
  }));
  const benefits: Record<string, unknown[]> = {
    statuses: entries.map((e) =>
      active ? { ...e, status: 'ACTIVE_COVERAGE', dates: { plan } } : { ...e, status: 'INACTIVE' },
    ),
  };
  if (active)
    for (const e of entries)
      for (const { type, network, ...values } of simulatedPlan.costSharing)
        (benefits[type] ??= []).push({ ...e, ...values, network: { indicator: network } });
  return {
    ...base,
    subscriber: { ...base.subscriber, dates: { plan, eligibility: { start: plan.start } } },
    plans: [{ name: simulatedPlan.name, benefits }],
    errors: [],
  };
}

/** A 400 naming rejected fields by JSON pointer, as the SDK's InvalidRequestException. */
export function invalidRequest(
  message: string,
  failures: readonly { path: readonly PropertyKey[]; message: string }[],
): Record<string, unknown> {
  return {
    message,
    errors: failures.map((f) => ({ path: `/${f.path.map(String).join('/')}`, message: f.message })),
  };
}
