import { describe, expect, it } from 'vitest';
import { toCsv, toJsonLines } from '../../src/producer/runs/run-results.js';
import type { RunResultRow } from '../../src/producer/runs/run-schemas.js';

const row = (extra: Partial<RunResultRow> = {}): RunResultRow => ({
  seq: 1,
  checkId: 'bt_x-0',
  index: 0,
  status: 'failed',
  attempts: 1,
  aaaCodes: [],
  ...extra,
});

describe('run results formats', () => {
  it('CSV quotes commas, quotes and newlines, and defuses spreadsheet formulas', () => {
    const csv = toCsv([row({ failureReason: '=HYPERLINK("x"), then\nmore' })], true);
    const [header, line] = csv.split('\r\n');
    expect(header?.split(',')).toHaveLength(11);
    expect(line).toBe(`1,bt_x-0,0,failed,1,,,,,"'=HYPERLINK(""x""), then\nmore",`);
  });

  it('CSV writes the header on request only; JSON lines one row a line', () => {
    expect(toCsv([row()], false).split('\r\n')[0]).toBe('1,bt_x-0,0,failed,1,,,,,,');
    expect(
      toJsonLines([row(), row({ seq: 2 })])
        .trim()
        .split('\n'),
    ).toHaveLength(2);
  });
});
