import { describe, expect, it } from 'vitest';
import {
  eligibilityRequestSchema,
  isRealDate,
} from '../../../src/shared/schemas/eligibility-request.js';
import { checkRequest } from '../../support/fixtures.js';

const ymd = (d: Date) => d.toISOString().slice(0, 10).replaceAll('-', '');
const withBirthDate = (dateOfBirth: string) =>
  eligibilityRequestSchema.safeParse({
    ...checkRequest(),
    subscriber: { memberId: 'M123', firstName: 'Jo', lastName: 'Doe', dateOfBirth },
  });

describe('the eligibility request schema', () => {
  it('takes a birth date of today, and refuses tomorrow as in the future', () => {
    const now = new Date();
    expect(withBirthDate(ymd(now)).success).toBe(true);
    const tomorrow = withBirthDate(ymd(new Date(now.getTime() + 86_400_000)));
    expect(tomorrow.success).toBe(false);
    expect(tomorrow.error?.issues.map((i) => [i.path.join('.'), i.message])).toContainEqual([
      'subscriber.dateOfBirth',
      'must not be in the future',
    ]);
  });

  it('knows real calendar dates', () => {
    expect(isRealDate('20240229')).toBe(true);
    expect(isRealDate('20230229')).toBe(false);
    expect(isRealDate('19800431')).toBe(false);
    expect(isRealDate('18491231')).toBe(false);
  });
});
