/**
 * Converts a validated request between Stedi's two real-time shapes, field by field. A field with
 * no counterpart in the target shape is never dropped silently: it becomes an issue naming it, so
 * the producer can refuse the check with a 400 before it is enqueued. Two v3 fields are
 * deliberately left behind for 2026-06-01: `controlNumber` and `submitterTransactionIdentifier`
 * identify the X12 transport, not the question, and the new endpoint assigns its own `ec_` id.
 */
import type { EligibilityRequest } from './eligibility-request.js';
import type { EligibilityCheckRequest } from './eligibility-check-request.js';
import { isCheckRequest2026, type CheckRequest, type RequestShape } from './check-request.js';

/** A field that cannot be carried into the target shape. */
export interface ConversionIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** The request in the target shape, or the fields that stop it. */
export type Conversion =
  | { readonly ok: true; readonly body: Record<string, unknown> }
  | { readonly ok: false; readonly issues: readonly ConversionIssue[] };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** `table[key]` when the table itself has it: `toString` or `constructor` is not an entry. */
const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** v3 YYYYMMDD to YYYY-MM-DD, and back. */
const toIso = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
const toYmd = (d: string) => d.replaceAll('-', '');

/** X12 individual relationship codes v3 uses, and the 2026-06-01 names of those it can take. */
const relationByCode: Readonly<Record<string, string>> = {
  '01': 'SPOUSE',
  '19': 'CHILD',
  '34': 'OTHER_ADULT',
};
const codeByRelation = Object.fromEntries(Object.entries(relationByCode).map(([c, r]) => [r, c]));
/** v3's productOrServiceIDQualifier values and the 2026-06-01 code systems they name. */
const systemByQualifier: Readonly<Record<string, string>> = {
  CJ: 'CPT',
  HC: 'HCPCS',
  AD: 'CDT',
  N4: 'NDC',
};
const qualifierBySystem = Object.fromEntries(
  Object.entries(systemByQualifier).map(([q, s]) => [s, q]),
);

/** Walks one object: each known key goes to its handler, any other key becomes an issue. */
class Walk {
  readonly issues: ConversionIssue[] = [];
  constructor(private readonly target: RequestShape) {}

  keys(
    obj: Obj,
    path: readonly string[],
    handlers: Readonly<Record<string, (v: unknown) => void>>,
  ) {
    for (const [key, value] of Object.entries(obj)) {
      if (value === undefined) continue;
      const handle = own(handlers, key);
      if (handle) handle(value);
      else this.refuse([...path, key]);
    }
  }

  refuse(path: readonly string[], why = `has no counterpart in Stedi's ${this.target} request`) {
    this.issues.push({ path, message: why });
  }

  done(body: Obj): Conversion {
    return this.issues.length === 0 ? { ok: true, body } : { ok: false, issues: this.issues };
  }
}

/** `request` in `target`'s shape, or the fields that have no counterpart there. */
export function convertRequest(request: CheckRequest, target: RequestShape): Conversion {
  if (isCheckRequest2026(request))
    return target === '2026-06-01' ? { ok: true, body: request } : toV3(request);
  return target === 'v3' ? { ok: true, body: request } : to2026(request);
}

function to2026(r: EligibilityRequest): Conversion {
  const w = new Walk('2026-06-01');
  const out: Obj = {};
  w.keys(r, [], {
    tradingPartnerServiceId: (v) => (out.payerId = v),
    tradingPartnerName: (v) => (out.payerName = v),
    controlNumber: () => undefined,
    submitterTransactionIdentifier: () => undefined,
    externalPatientId: (v) => (out.externalPatientId = v),
    provider: (v) => (out.provider = provider2026(w, v as Obj)),
    subscriber: (v) => (out.subscriber = subscriber2026(w, v as Obj)),
    dependents: (v) => {
      const list = v as Obj[];
      if (list.length > 1)
        w.refuse(
          ['dependents'],
          "holds more than one dependent; Stedi's 2026-06-01 request takes one",
        );
      else if (list[0]) out.dependent = dependent2026(w, list[0]);
    },
    encounter: (v) => (out.encounter = encounter2026(w, v as Obj)),
  });
  return w.done(out);
}

function person2026(w: Walk, p: Obj, path: string[], extra: Record<string, (v: unknown) => void>) {
  const person: Obj = {};
  const name = (key: string) => (v: unknown) => (person[key] = v);
  w.keys(p, path, {
    firstName: name('firstName'),
    lastName: name('lastName'),
    middleName: name('middleName'),
    suffix: name('suffix'),
    ...extra,
  });
  return person;
}

function provider2026(w: Walk, p: Obj): Obj {
  const out: Obj = {};
  const person = person2026(w, p, ['provider'], {
    organizationName: (v) => (out.name = { organization: v }),
    npi: (v) => (out.npi = v),
    taxId: (v) => (out.tin = v),
    ssn: (v) => (out.ssn = v),
    serviceProviderNumber: (v) => (out.serviceProviderNumber = v),
    pharmacyProcessorNumber: (v) => (out.pharmacyProcessorNumber = v),
  });
  if (Object.keys(person).length > 0) {
    if (out.name)
      w.refuse(
        ['provider', 'lastName'],
        "names the provider as a person and an organization; Stedi's 2026-06-01 request takes one",
      );
    else out.name = { person };
  }
  return out;
}

function gender2026(w: Walk, path: string[], v: unknown): string | undefined {
  if (v === 'M') return 'MALE';
  if (v === 'F') return 'FEMALE';
  w.refuse(path, "'U' has no counterpart in Stedi's 2026-06-01 request (MALE or FEMALE only)");
  return undefined;
}

function subscriber2026(w: Walk, s: Obj): Obj {
  const out: Obj = {};
  const info: Obj = {};
  const person = person2026(w, s, ['subscriber'], {
    memberId: (v) => (out.memberId = v),
    dateOfBirth: (v) => (out.dateOfBirth = toIso(v as string)),
    gender: (v) => (out.gender = gender2026(w, ['subscriber', 'gender'], v)),
    groupNumber: (v) => (info.groupNumber = v),
    ssn: (v) => (info.ssn = v),
  });
  if (Object.keys(person).length > 0) out.name = { person };
  if (Object.keys(info).length > 0) out.additionalInformation = info;
  return out;
}

function dependent2026(w: Walk, d: Obj): Obj {
  const out: Obj = {};
  const path = ['dependents', '0'];
  const person = person2026(w, d, path, {
    dateOfBirth: (v) => (out.dateOfBirth = toIso(v as string)),
    gender: (v) => (out.gender = gender2026(w, [...path, 'gender'], v)),
    individualRelationshipCode: (v) => {
      const relation = own(relationByCode, v as string);
      if (relation) out.relationToSubscriber = relation;
      else
        w.refuse(
          [...path, 'individualRelationshipCode'],
          "only 01 (spouse), 19 (child) and 34 (other adult) exist in Stedi's 2026-06-01 request",
        );
    },
  });
  out.name = { person };
  return out;
}

function encounter2026(w: Walk, e: Obj): Obj {
  const out: Obj = {};
  const services: Obj[] = [];
  const service: Obj = {};
  w.keys(e, ['encounter'], {
    serviceTypeCodes: (v) => {
      for (const value of v as string[]) services.push({ value, system: 'STC' });
    },
    beginningDateOfService: (v) => (service.start = toIso(v as string)),
    endDateOfService: (v) => (service.end = toIso(v as string)),
    dateOfService: (v) => (service.start = toIso(v as string)),
    procedureCode: (v) => {
      const qualifier = e.productOrServiceIDQualifier;
      const system = own(systemByQualifier, typeof qualifier === 'string' ? qualifier : 'CJ');
      if (system) services.push({ value: v, system });
      else w.refuse(['encounter', 'productOrServiceIDQualifier']);
    },
    productOrServiceIDQualifier: () => undefined,
  });
  if (services.length > 0) out.services = services;
  if (Object.keys(service).length > 0) out.dates = { service };
  return out;
}

function toV3(r: EligibilityCheckRequest): Conversion {
  const w = new Walk('v3');
  const out: Obj = {};
  w.keys(r, [], {
    payerId: (v) => (out.tradingPartnerServiceId = v),
    payerName: (v) => (out.tradingPartnerName = v),
    externalPatientId: (v) => (out.externalPatientId = v),
    provider: (v) => (out.provider = providerV3(w, v as Obj)),
    subscriber: (v) => (out.subscriber = subscriberV3(w, v as Obj)),
    dependent: (v) => (out.dependents = [dependentV3(w, v as Obj)]),
    encounter: (v) => (out.encounter = encounterV3(w, v as Obj)),
  });
  return w.done(out);
}

/** A `{ person }` name's parts, flattened as v3 spells them. */
function personV3(w: Walk, name: Obj, path: string[], allowed: readonly string[]): Obj {
  const out: Obj = {};
  if (name.organization !== undefined) w.refuse([...path, 'organization']);
  const person = isObj(name.person) ? name.person : {};
  w.keys(
    person,
    [...path, 'person'],
    Object.fromEntries(allowed.map((k) => [k, (v: unknown) => (out[k] = v)])),
  );
  return out;
}

function providerV3(w: Walk, p: Obj): Obj {
  const out: Obj = {};
  w.keys(p, ['provider'], {
    name: (v) => {
      const name = v as Obj;
      if (name.organization !== undefined) out.organizationName = name.organization;
      else Object.assign(out, personV3(w, name, ['provider', 'name'], ['firstName', 'lastName']));
    },
    npi: (v) => (out.npi = v),
    tin: (v) => (out.taxId = v),
    ssn: (v) => (out.ssn = v),
    serviceProviderNumber: (v) => (out.serviceProviderNumber = v),
    pharmacyProcessorNumber: (v) => (out.pharmacyProcessorNumber = v),
  });
  return out;
}

const nameParts = ['firstName', 'lastName', 'middleName', 'suffix'] as const;

function genderV3(v: unknown): string {
  return v === 'MALE' ? 'M' : 'F';
}

function subscriberV3(w: Walk, s: Obj): Obj {
  const out: Obj = {};
  w.keys(s, ['subscriber'], {
    name: (v) => Object.assign(out, personV3(w, v as Obj, ['subscriber', 'name'], nameParts)),
    memberId: (v) => (out.memberId = v),
    dateOfBirth: (v) => (out.dateOfBirth = toYmd(v as string)),
    gender: (v) => (out.gender = genderV3(v)),
    additionalInformation: (v) =>
      w.keys(v as Obj, ['subscriber', 'additionalInformation'], {
        groupNumber: (g) => (out.groupNumber = g),
        ssn: (n) => (out.ssn = n),
      }),
  });
  return out;
}

function dependentV3(w: Walk, d: Obj): Obj {
  const out: Obj = {};
  w.keys(d, ['dependent'], {
    name: (v) => Object.assign(out, personV3(w, v as Obj, ['dependent', 'name'], nameParts)),
    dateOfBirth: (v) => (out.dateOfBirth = toYmd(v as string)),
    gender: (v) => (out.gender = genderV3(v)),
    relationToSubscriber: (v) =>
      (out.individualRelationshipCode = own(codeByRelation, v as string)),
  });
  return out;
}

function encounterV3(w: Walk, e: Obj): Obj {
  const out: Obj = {};
  w.keys(e, ['encounter'], {
    services: (v) => {
      const list = v as { value: string; system: string }[];
      const stc = list.filter((s) => s.system === 'STC').map((s) => s.value);
      const procedures = list.filter((s) => s.system !== 'STC');
      if (procedures.length === 0) out.serviceTypeCodes = stc;
      else if (procedures.length === 1 && stc.length === 0 && procedures[0]) {
        const qualifier = own(qualifierBySystem, procedures[0].system);
        if (qualifier) {
          out.procedureCode = procedures[0].value;
          out.productOrServiceIDQualifier = qualifier;
        } else w.refuse(['encounter', 'services', '0', 'system']);
      } else
        w.refuse(
          ['encounter', 'services'],
          'mixes service type codes and procedure codes, or names several procedure codes; v3 takes service type codes or one procedure code',
        );
    },
    dates: (v) => {
      const service = isObj((v as Obj).service) ? ((v as Obj).service as Obj) : {};
      if (typeof service.start === 'string') out.beginningDateOfService = toYmd(service.start);
      if (typeof service.end === 'string') out.endDateOfService = toYmd(service.end);
    },
  });
  return out;
}
