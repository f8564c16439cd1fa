import { describe, expect, it } from 'vitest';
import { classifyReply } from '../../src/worker/stedi/classify-reply.js';

const aaa = (code: string) => ({
  status: 200,
  body: { errors: [{ field: 'AAA', code, description: 'x' }] },
});

describe('classifyReply (Stedi outcomes table)', () => {
  it('keeps a clean 200 and definitive AAA answers (43, 72, 73, 75, 79) as answers', () => {
    expect(classifyReply({ status: 200, body: { planStatus: [] } })).toMatchObject({
      kind: 'answer',
      aaaCodes: [],
    });
    for (const code of ['43', '72', '73', '75', '79']) {
      expect(classifyReply(aaa(code))).toMatchObject({ kind: 'answer', aaaCodes: [code] });
    }
  });

  it('retries AAA 42 and 80, 5xx and 408', () => {
    expect(classifyReply(aaa('42')).kind).toBe('retryable');
    expect(classifyReply(aaa('80')).kind).toBe('retryable');
    for (const status of [408, 500, 502, 503, 504])
      expect(classifyReply({ status, body: {} }).kind).toBe('retryable');
  });

  it('treats 429 as throttled, never as a failure', () => {
    expect(classifyReply({ status: 429, body: { message: 'x' }, retryAfterMs: 2000 })).toEqual({
      kind: 'throttled',
      retryAfterMs: 2000,
    });
  });

  it('rejects 400 without retry, naming Stedi code 33, and alerts on 401/403', () => {
    const r = classifyReply({
      status: 400,
      body: { errors: [{ code: '33', description: 'Payer FOO is not configured' }] },
    });
    expect(r).toMatchObject({ kind: 'rejected', alert: false });
    expect(r.kind === 'rejected' && r.reason).toContain('code 33');
    expect(classifyReply({ status: 401, body: {} })).toMatchObject({
      kind: 'rejected',
      alert: true,
    });
    expect(classifyReply({ status: 403, body: {} })).toMatchObject({
      kind: 'rejected',
      alert: true,
    });
  });

  it('does not quote Stedi error descriptions, which may echo patient values', () => {
    const r = classifyReply({
      status: 400,
      body: { errors: [{ code: '99', description: 'member JANE DOE 19800101 bad' }] },
    });
    expect(JSON.stringify(r)).not.toContain('JANE');
  });

  it("classifies the 2026-06-01 endpoint's answers alike: AAA codes, 429, fields by JSON pointer", () => {
    const answer = {
      id: 'ec_1',
      plans: [{ name: 'PPO', benefits: { statuses: [] } }],
      errors: [{ code: '75', description: 'Subscriber/Insured Not Found', followupAction: 'x' }],
    };
    expect(classifyReply({ status: 200, body: answer })).toMatchObject({
      kind: 'answer',
      aaaCodes: ['75'],
    });
    expect(
      classifyReply({ status: 200, body: { ...answer, errors: [{ code: '42' }] } }),
    ).toMatchObject({ kind: 'retryable' });
    expect(classifyReply({ status: 429, body: { message: 'Too many' } })).toMatchObject({
      kind: 'throttled',
    });
    const invalid = classifyReply({
      status: 400,
      body: {
        message: 'Request validation failed',
        errors: [{ path: '/subscriber/dateOfBirth', message: 'JANE DOE 1980 is invalid' }],
      },
    });
    expect(invalid).toMatchObject({ kind: 'rejected', alert: false });
    expect(invalid.kind === 'rejected' && invalid.reason).toContain('/subscriber/dateOfBirth');
    expect(JSON.stringify(invalid)).not.toContain('JANE');
  });
});
