/**
 * The text form of the `payers` option, read from SIMULATOR_PAYER_PROFILES:
 *
 *   entries  PAYER=PART[+PART],…   (comma separated; each payer once)
 *   PART     latency:MEDIAN_MS/SIGMA[/MAX_MS]
 *            outage:ANSWER/AFTER_MS[/FROM_MS-[UNTIL_MS]]
 *   ANSWER   aaa42 | aaa80 | 500 | 502 | 503 | 504
 *
 * e.g. `SLOWPAYER=latency:8000/0.3,DOWNPAYER=outage:aaa42/6000/0-30000`. Numbers are plain
 * non-negative decimals in ms (sigma unitless); UNTIL_MS left out means the outage never ends.
 */
import { commaList } from '../shared/comma-list.js';
import type { OutageAnswer, PayerLatency, PayerOutage, PayerProfile } from './payer-profiles.js';

const NUMBER = /^\d+(?:\.\d+)?$/;
const WINDOW = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)?$/;
const ANSWERS = new Map<string, OutageAnswer>([
  ['aaa42', { aaa: '42' }],
  ['aaa80', { aaa: '80' }],
  ['500', { status: 500 }],
  ['502', { status: 502 }],
  ['503', { status: 503 }],
  ['504', { status: 504 }],
]);

/** Parses SIMULATOR_PAYER_PROFILES; `problems` has one message per bad entry, quoting it. */
export function parsePayerProfiles(spec: string): {
  profiles: Record<string, PayerProfile>;
  problems: string[];
} {
  const profiles: Record<string, PayerProfile> = {};
  const problems: string[] = [];
  for (const entry of commaList(spec)) {
    try {
      const [payer, profile] = parseEntry(entry);
      if (Object.hasOwn(profiles, payer)) throw new Error(`payer ${payer} is given twice`);
      profiles[payer] = profile;
    } catch (err) {
      problems.push(`entry "${entry}": ${(err as Error).message}`);
    }
  }
  return { profiles, problems };
}

function parseEntry(entry: string): [string, PayerProfile] {
  const eq = entry.indexOf('=');
  const payer = entry.slice(0, Math.max(eq, 0)).trim();
  if (!payer || /\s/.test(payer)) throw new Error('expected PAYER=latency:… or PAYER=outage:…');
  let latency: PayerLatency | undefined;
  let outage: PayerOutage | undefined;
  for (const part of entry.slice(eq + 1).split('+')) {
    const [kind = '', args = ''] = splitOnce(part.trim(), ':');
    if (kind === 'latency' && !latency) latency = parseLatency(args.split('/'));
    else if (kind === 'outage' && !outage) outage = parseOutage(args.split('/'));
    else if (kind === 'latency' || kind === 'outage') throw new Error(`${kind} is given twice`);
    else throw new Error(`"${part}" is neither latency:… nor outage:…`);
  }
  return [payer, { ...(latency && { latency }), ...(outage && { outage }) }];
}

function parseLatency(fields: string[]): PayerLatency {
  if (fields.length < 2 || fields.length > 3) {
    throw new Error('latency takes MEDIAN_MS/SIGMA[/MAX_MS]');
  }
  const [medianMs = 0, sigma = 0, maxMs] = fields.map(number);
  return { medianMs, sigma, ...(maxMs !== undefined && { maxMs }) };
}

function parseOutage(fields: string[]): PayerOutage {
  if (fields.length < 2 || fields.length > 3) {
    throw new Error('outage takes ANSWER/AFTER_MS[/FROM_MS-[UNTIL_MS]]');
  }
  const [answerText = '', afterText = '', windowText] = fields;
  const answer = ANSWERS.get(answerText);
  if (!answer) {
    throw new Error(
      `outage answer "${answerText}" is not one of ${[...ANSWERS.keys()].join(', ')}`,
    );
  }
  const outage = { ...answer, afterMs: number(afterText) };
  if (windowText === undefined) return outage;
  const window = WINDOW.exec(windowText);
  if (!window) throw new Error(`outage window "${windowText}" is not FROM_MS-[UNTIL_MS]`);
  const fromMs = Number(window[1]);
  if (window[2] === undefined) return { ...outage, fromMs };
  const untilMs = Number(window[2]);
  if (untilMs <= fromMs) throw new Error(`outage window "${windowText}" ends before it starts`);
  return { ...outage, fromMs, untilMs };
}

/** A field as a number; anything but a plain non-negative decimal throws. */
function number(field: string): number {
  if (!NUMBER.test(field)) throw new Error(`"${field}" is not a non-negative number`);
  return Number(field);
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)];
}
