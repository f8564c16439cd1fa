/**
 * Outcomes of members that are not Stedi mock requests: deterministic per payer and member id,
 * so a retried check gets the same answer, with a realistic mix.
 */
import { createHash } from 'node:crypto';
import { aaaDescription, type Outcome } from './mock-catalog.js';

/** Active 88%, inactive 6%, subscriber not found (AAA 75) 3%, bad member id (AAA 72) 2%, bad name (AAA 73) 1%. */
export function memberOutcome(payerId: string, memberId: string | undefined): Outcome {
  const bucket =
    createHash('sha256')
      .update(`${payerId}|${memberId ?? ''}`)
      .digest()
      .readUInt32BE(0) % 100;
  if (bucket < 88) return { kind: 'active' };
  if (bucket < 94) return { kind: 'inactive' };
  const code = bucket < 97 ? '75' : bucket < 99 ? '72' : '73';
  return { kind: 'aaa', code, description: aaaDescription(code) };
}

/** Payer ids the simulator knows; others get Stedi's "payer not configured" (code 33). */
export const knownPayers: ReadonlySet<string> = new Set([
  '60054',
  '040',
  'G84980',
  '62308',
  'OSCAR',
  '87726',
  '68069',
  '61101',
  'KSRCN',
  'CMS',
  'MBILU',
  'AMTAS00425',
  '84103',
  '10134',
  '52133',
  'STEDI',
  'AHS',
]);
