import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitCheckSchema } from '../../src/producer/api-schemas.js';
import { seededRandom } from '../../src/shared/random.js';
import { checkRequest } from '../support/fixtures.js';
import { enqueuedCount, producerEnv, type ProducerEnv } from '../support/producer-env.js';

let p: ProducerEnv;
beforeAll(async () => {
  p = await producerEnv({ BODY_LIMIT_BYTES: '65536' });
});
afterAll(async () => {
  await p.close();
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const random = seededRandom(20261122);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const oddValues: Json[] = [
  null,
  true,
  0,
  -1,
  1e308,
  3.5,
  '',
  ' ',
  'x'.repeat(5000),
  '19800231',
  '1999999984',
  '<script>',
  '\u0000',
  '💥',
  [],
  [1, 2],
  {},
  { a: { b: { c: [] } } },
  'realtime',
  'batch',
  '00000000000',
  '２０２０',
  '1'.repeat(10),
];

/** Mutates a random node of a valid body: delete, retype, add a stray key, or nest deeply. */
function mutate(value: Json, depth = 0): Json {
  if (value === null || typeof value !== 'object' || random() < 0.25) {
    return random() < 0.1 ? nest(pick(oddValues), 1 + Math.floor(random() * 60)) : pick(oddValues);
  }
  if (Array.isArray(value)) {
    const copy = [...value];
    if (copy.length && random() < 0.6)
      copy[Math.floor(random() * copy.length)] = mutate(copy[0] as Json, depth + 1);
    else copy.push(pick(oddValues));
    return copy;
  }
  const copy: { [k: string]: Json } = { ...value };
  const keysOf = Object.keys(copy);
  const r = random();
  if (r < 0.2 && keysOf.length) delete copy[pick(keysOf)];
  else if (r < 0.3)
    copy[pick(['__proto__', 'constructor', 'extra', 'toString', 'npi'])] = pick(oddValues);
  else if (keysOf.length) {
    const k = pick(keysOf);
    copy[k] = mutate(copy[k] as Json, depth + 1);
  }
  return copy;
}

function nest(v: Json, levels: number): Json {
  let out = v;
  for (let i = 0; i < levels; i++) out = random() < 0.5 ? [out] : { x: out };
  return out;
}

const rawBodies = [
  '',
  '{',
  '[]',
  'null',
  '"text"',
  '{"request":',
  '{"request": {}}}',
  '\u00ff\u00fe',
  '{"priority": "batch"',
];

describe('producer fuzz', () => {
  it('answers thousands of malformed bodies with 4xx, never 5xx, and enqueues only what is valid', async () => {
    const before = await enqueuedCount(p.queues);
    const valid = { priority: 'batch', request: checkRequest() } as unknown as Json;
    let expectedAccepted = 0;
    const statuses = new Map<number, number>();
    const bodies: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      if (i % 50 === 0) bodies.push(pick(rawBodies));
      else {
        let body = valid;
        const rounds = 1 + Math.floor(random() * 3);
        for (let k = 0; k < rounds; k++) body = mutate(body);
        bodies.push(JSON.stringify(body));
      }
    }
    const lanes = 8;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < bodies.length; i += lanes) {
          const text = bodies[i] ?? '';
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = Symbol('invalid');
          }
          const shouldAccept =
            typeof parsed === 'object' && submitCheckSchema.safeParse(parsed).success;
          const res = await p.call('/v1/eligibility', {
            method: 'POST',
            body: text,
            headers: { 'content-type': 'application/json' },
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, text.slice(0, 200)).toBeLessThan(500);
          if (shouldAccept) {
            expectedAccepted++;
            expect(res.status).toBe(202);
          } else expect([400, 413, 415]).toContain(res.status);
        }
      }),
    );
    expect(statuses.get(400) ?? 0).toBeGreaterThan(1_500);
    expect((await enqueuedCount(p.queues)) - before).toBe(expectedAccepted);
  });
});
