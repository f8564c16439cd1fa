import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkRequestSchema, payerOf, shapeOf } from '../../../src/shared/schemas/check-request.js';
import { convertRequest } from '../../../src/shared/schemas/request-conversion.js';
import { loadMockCatalog } from '../../../src/simulator/mock-catalog.js';
import { checkRequest } from '../../support/fixtures.js';

const parse = (v: unknown) => checkRequestSchema.parse(v);

/** Stedi's SDK example request (examples/typescript/eligibility/fixtures/eligibility-check.json). */
const sdkExample = {
  payerId: '60054',
  provider: { name: { organization: 'Provider Name' }, npi: '1999999984' },
  subscriber: {
    name: { person: { firstName: 'Jane', lastName: 'Doe' } },
    memberId: 'AETNA12345',
    dateOfBirth: '2004-04-04',
  },
  encounter: { services: [{ value: '30', system: 'STC' }] },
};

describe('request shapes', () => {
  it('tells the shape by the payer field and validates each by its own rules', () => {
    expect(shapeOf(sdkExample)).toBe('2026-06-01');
    expect(shapeOf(checkRequest())).toBe('v3');
    expect(payerOf(parse(sdkExample))).toBe('60054');
    const bad = z.object({ request: checkRequestSchema }).safeParse({
      request: {
        ...sdkExample,
        provider: { name: { organization: 'P' }, npi: '1999999985' },
        subscriber: { dateOfBirth: '2004-02-30' },
      },
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'request.provider.npi',
      'request.subscriber.dateOfBirth',
      'request.subscriber.memberId',
    ]);
  });
});

describe('request conversion', () => {
  it('converts the SDK example to v3 and back to the same request', () => {
    const v3 = convertRequest(parse(sdkExample), 'v3');
    expect(v3).toEqual({
      ok: true,
      body: {
        tradingPartnerServiceId: '60054',
        provider: { organizationName: 'Provider Name', npi: '1999999984' },
        subscriber: {
          firstName: 'Jane',
          lastName: 'Doe',
          memberId: 'AETNA12345',
          dateOfBirth: '20040404',
        },
        encounter: { serviceTypeCodes: ['30'] },
      },
    });
    expect(v3.ok && convertRequest(parse(v3.body), '2026-06-01')).toEqual({
      ok: true,
      body: sdkExample,
    });
  });

  it('maps a dependent, dates of service, gender, group number and a procedure code', () => {
    const v3 = parse({
      ...checkRequest('M1'),
      subscriber: { memberId: 'M1', gender: 'F', groupNumber: 'G1' },
      dependents: [
        {
          firstName: 'Kid',
          lastName: 'Doe',
          dateOfBirth: '20150101',
          individualRelationshipCode: '19',
        },
      ],
      encounter: { beginningDateOfService: '20260101', endDateOfService: '20260131' },
    });
    const out = convertRequest(v3, '2026-06-01');
    expect(out).toMatchObject({
      ok: true,
      body: {
        subscriber: {
          memberId: 'M1',
          gender: 'FEMALE',
          additionalInformation: { groupNumber: 'G1' },
        },
        dependent: {
          name: { person: { firstName: 'Kid', lastName: 'Doe' } },
          dateOfBirth: '2015-01-01',
          relationToSubscriber: 'CHILD',
        },
        encounter: { dates: { service: { start: '2026-01-01', end: '2026-01-31' } } },
      },
    });
    const cpt = parse({
      ...sdkExample,
      encounter: { services: [{ value: '99213', system: 'CPT' }] },
    });
    expect(convertRequest(cpt, 'v3')).toMatchObject({
      ok: true,
      body: { encounter: { procedureCode: '99213', productOrServiceIDQualifier: 'CJ' } },
    });
  });

  it('leaves only the v3 transport identifiers behind (controlNumber, submitterTransactionIdentifier)', () => {
    const out = convertRequest(
      parse({ ...checkRequest(), submitterTransactionIdentifier: 'T1' }),
      '2026-06-01',
    );
    expect(out.ok).toBe(true);
    expect(JSON.stringify(out)).not.toContain('123456789');
    expect(JSON.stringify(out)).not.toContain('T1');
  });

  it('names every field that has no counterpart instead of dropping it', () => {
    const toNew = convertRequest(
      parse({
        ...checkRequest(),
        subscriber: { memberId: 'M1', gender: 'U' },
        dependents: [
          { firstName: 'A', lastName: 'B' },
          { firstName: 'C', lastName: 'D' },
        ],
        portalUsername: 'someone',
      }),
      '2026-06-01',
    );
    expect(toNew.ok).toBe(false);
    expect(!toNew.ok && toNew.issues.map((i) => i.path.join('.'))).toEqual([
      'subscriber.gender',
      'dependents',
      'portalUsername',
    ]);
    const toV3 = convertRequest(
      parse({
        ...sdkExample,
        subscriber: { ...sdkExample.subscriber, name: { organization: 'ACME' } },
        encounter: {
          services: [
            { value: '30', system: 'STC' },
            { value: '99213', system: 'CPT' },
          ],
        },
        eligibilitySearchId: 'es_1',
      }),
      'v3',
    );
    expect(!toV3.ok && toV3.issues.map((i) => i.path.join('.'))).toEqual([
      'subscriber.name.organization',
      'encounter.services',
      'eligibilitySearchId',
    ]);
  });

  it("does not mistake Object's own member names for known fields or codes", () => {
    const out = convertRequest(
      parse({
        ...checkRequest(),
        dependents: [{ firstName: 'A', lastName: 'B', individualRelationshipCode: 'toString' }],
        encounter: { procedureCode: '99213', productOrServiceIDQualifier: 'constructor' },
        toString: 'x',
      }),
      '2026-06-01',
    );
    expect(!out.ok && out.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'dependents.0.individualRelationshipCode',
      'encounter.productOrServiceIDQualifier',
      'toString',
    ]);
  });

  it("converts each of Stedi's 34 mock requests to the 2026-06-01 shape and back unchanged", () => {
    for (const mock of loadMockCatalog()) {
      const original = parse(mock.request);
      const out = convertRequest(original, '2026-06-01');
      expect(out.ok, mock.id).toBe(true);
      const back = out.ok ? convertRequest(parse(out.body), 'v3') : undefined;
      const withoutTransport: Record<string, unknown> = { ...original };
      delete withoutTransport.controlNumber;
      expect(back, mock.id).toEqual({ ok: true, body: withoutTransport });
    }
  });
});
