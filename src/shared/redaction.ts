/**
 * Redacted forms of check data and results, for every place a person looks (Bull Board, logs):
 * the member id masked to its last 4 characters, initials instead of names, no date of birth.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `W1234567` -> `****4567`; short ids are masked whole. */
export function maskMemberId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  return id.length <= 4 ? '****' : `****${id.slice(-4)}`;
}

function initials(person: Obj): string | undefined {
  const letters = [person.firstName, person.lastName]
    .filter((n): n is string => typeof n === 'string' && n.length > 0)
    .map((n) => `${n[0]?.toUpperCase() ?? ''}.`);
  return letters.length ? letters.join('') : undefined;
}

function redactPerson(p: unknown): Obj | undefined {
  if (!isObj(p)) return undefined;
  // The 2026-06-01 shape nests names: { name: { person: { firstName, lastName } } }.
  const name = isObj(p.name) && isObj(p.name.person) ? p.name.person : p;
  return { memberId: maskMemberId(p.memberId), initials: initials(name) };
}

/** Job data with patient fields reduced to what an operator needs to tell checks apart. */
export function redactCheckData(data: unknown): unknown {
  if (!isObj(data)) return data;
  const request = isObj(data.request) ? data.request : {};
  const provider = isObj(request.provider) ? request.provider : {};
  const encounter = isObj(request.encounter) ? request.encounter : {};
  const dependents = Array.isArray(request.dependents)
    ? request.dependents
    : request.dependent !== undefined
      ? [request.dependent]
      : undefined;
  const services = Array.isArray(encounter.services)
    ? encounter.services.filter(isObj).map((s) => `${String(s.system)}:${String(s.value)}`)
    : encounter.serviceTypeCodes;
  return {
    priority: data.priority,
    submittedAt:
      typeof data.submittedAt === 'number' ? new Date(data.submittedAt).toISOString() : undefined,
    submittedBy: data.submittedBy,
    request: {
      payer: request.tradingPartnerServiceId ?? request.payerId,
      provider: { npi: provider.npi },
      subscriber: redactPerson(request.subscriber),
      dependents: dependents?.map(redactPerson),
      serviceTypeCodes: services,
    },
  };
}

/**
 * A result reduced to its outcome: AAA codes, coverage and plan status codes, timing, no patient
 * data.
 */
export function redactCheckResult(value: unknown): unknown {
  if (!isObj(value)) return value;
  const response = isObj(value.response) ? value.response : {};
  const planStatus = Array.isArray(response.planStatus) ? response.planStatus : [];
  const summary = isObj(value.summary) ? value.summary : {};
  return {
    aaaCodes: value.aaaCodes,
    coverage: summary.coverage,
    answeredBy: summary.answeredBy,
    callMs: value.callMs,
    planStatus: planStatus
      .filter(isObj)
      .map((s) => ({ statusCode: s.statusCode, status: s.status })),
    traceId: isObj(response.meta) ? response.meta.traceId : undefined,
    stediCheckId: typeof response.id === 'string' ? response.id : undefined,
  };
}
