import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import {
  recordPayerSignal,
  type PayerHealthRules,
  type PayerSignal,
} from '../../../src/worker/scheduling/payer-health.js';
import { holdTokens } from '../../../src/worker/scheduling/hold-tokens.js';
import { uniqueName } from '../../support/names.js';

const rules: PayerHealthRules = {
  initialConcurrency: 2,
  maxConcurrency: 10,
  failureThreshold: 3,
  cooldownMs: 1_000,
};
const T0 = 1_700_000_000_000;

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  await redis.quit();
});

/** A payer hash no other test touches. */
const payerKey = () => `${uniqueName('ph')}:sched:payer:87726`;

async function signals(
  key: string,
  list: readonly PayerSignal[],
  now = T0,
  r: PayerHealthRules = rules,
): Promise<{ earned: number; openUntil: number }[]> {
  const out: { earned: number; openUntil: number }[] = [];
  for (const s of list) out.push(await recordPayerSignal(redis, key, s, r, now));
  return out;
}

const earnedOf = (rs: { earned: number }[]) => rs.map((r) => r.earned);
const hash = (key: string) => redis.hgetall(key);

/**
 * Takes a half-open payer's probe the way workers do: through the atomic token take, with limits
 * high enough that only the breaker decides.
 */
async function takePayerProbe(
  client: Redis,
  key: string,
  now: number,
  probeMs: number,
): Promise<boolean> {
  const token = `probe-${now}-${Math.random()}`;
  const taken = await holdTokens(client, {
    keys: {
      payerHash: key,
      // Tokens of their own per take: only the breaker's probe mark decides here, as it does
      // once a probe's call has ended and its token is gone.
      payer: `${key}:held:${token}`,
      tenant: `${key}:tenant`,
      npi: `${key}:npi`,
      active: `${key}:active`,
      queued: `${key}:queued`,
    },
    jobPrefix: `${key}:job:`,
    queueHead: 10,
    schedPrefix: `${key}:sched:`,
    payer: 'P',
    tenant: 'T',
    hasNpi: false,
    pool: 'batch',
    token,
    now,
    ttlMs: probeMs,
    initialConcurrency: 100,
    cap: 100,
    contended: false,
    othersActive: false,
    tenantMax: 0,
    npiCap: 0,
    tenantLimits: new Map(),
  });
  return taken !== 'refused';
}

describe('earned concurrency', () => {
  it('starts at the initial value and grows by one per ok (slow start)', async () => {
    const key = payerKey();
    const rs = await signals(key, ['ok', 'ok', 'ok', 'ok']);
    expect(earnedOf(rs)).toEqual([3, 4, 5, 6]);
    expect(rs.every((r) => r.openUntil === 0)).toBe(true);
    const h = await hash(key);
    expect(Number(h.earned)).toBe(6);
    expect(h.ssthresh).toBeUndefined();
  });

  it('halves on a failure, sets ssthresh, then grows by 1/earned per ok', async () => {
    const key = payerKey();
    await signals(key, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']); // 8
    const [failed] = await signals(key, ['failure']);
    expect(failed!.earned).toBe(4);
    expect(Number((await hash(key)).ssthresh)).toBe(4);
    const rs = await signals(key, ['ok', 'ok', 'ok', 'ok']);
    let expected = 4;
    for (const r of rs) {
      expected += 1 / expected;
      expect(r.earned).toBeCloseTo(expected, 10);
    }
    // Additive increase: about one per "window" of answers, so four oks add less than one slot.
    expect(rs[3]!.earned).toBeLessThan(5);
    expect(rs[3]!.earned).toBeGreaterThan(4.8);
  });

  it('takes a quarter off on a slow answer, which also ends slow start', async () => {
    const key = payerKey();
    await signals(key, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok']); // 8
    const [slow] = await signals(key, ['slow']);
    expect(slow!.earned).toBe(6);
    const h = await hash(key);
    expect(Number(h.ssthresh)).toBe(6);
    expect(Number(h.streak)).toBe(0); // slow is not a failure
    const [next] = await signals(key, ['ok']);
    expect(next!.earned).toBeCloseTo(6 + 1 / 6, 10);
  });

  it('grows additively from the first ok after a loss (ssthresh is the reduced value)', async () => {
    const key = payerKey();
    const r = { ...rules, failureThreshold: 100 };
    await signals(key, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'], T0, r); // 8
    await signals(key, ['failure', 'failure'], T0, r); // 4 then 2, ssthresh 2
    expect(Number((await hash(key)).ssthresh)).toBe(2);
    const rs = await signals(key, ['ok'], T0, r);
    expect(rs[0]!.earned).toBeCloseTo(2.5, 10);
  });

  it('never goes below 1', async () => {
    const key = payerKey();
    const r = { ...rules, failureThreshold: 100 };
    const rs = await signals(key, ['failure', 'failure', 'failure', 'slow', 'slow'], T0, r);
    expect(earnedOf(rs)).toEqual([1, 1, 1, 1, 1]);
  });

  it('never goes above the maximum, in slow start or additive increase', async () => {
    const key = payerKey();
    const r = { ...rules, maxConcurrency: 4 };
    const rs = await signals(key, ['ok', 'ok', 'ok', 'ok', 'ok'], T0, r);
    expect(earnedOf(rs)).toEqual([3, 4, 4, 4, 4]);
    const other = payerKey();
    await signals(other, ['ok', 'ok', 'failure'], T0, r); // 4 -> 2, ssthresh 2
    const more = await signals(other, Array<PayerSignal>(20).fill('ok'), T0, r);
    expect(Math.max(...earnedOf(more))).toBe(4);
    expect(more.at(-1)!.earned).toBe(4);
  });

  it('keeps the hash for a day, not forever', async () => {
    const key = payerKey();
    await signals(key, ['ok']);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });
});

describe('circuit breaker', () => {
  it('opens when the failure streak reaches the threshold, until now + cool-down', async () => {
    const key = payerKey();
    const rs = await signals(key, ['failure', 'failure'], T0);
    expect(rs.map((r) => r.openUntil)).toEqual([0, 0]);
    expect(Number((await hash(key)).streak)).toBe(2);
    const [third] = await signals(key, ['failure'], T0 + 50);
    expect(third!.openUntil).toBe(T0 + 50 + rules.cooldownMs);
    const h = await hash(key);
    expect(Number(h.openUntil)).toBe(T0 + 50 + rules.cooldownMs);
    expect(Number(h.streak)).toBe(0);
  });

  it('resets the streak on an ok, so failures must be consecutive', async () => {
    const key = payerKey();
    const rs = await signals(key, ['failure', 'failure', 'ok', 'failure', 'failure']);
    expect(rs.every((r) => r.openUntil === 0)).toBe(true);
    expect(Number((await hash(key)).streak)).toBe(2);
    const [third] = await signals(key, ['failure']);
    expect(third!.openUntil).toBe(T0 + rules.cooldownMs);
  });

  it('does not count a slow answer as a failure nor reset the streak with it', async () => {
    const key = payerKey();
    const rs = await signals(key, ['failure', 'slow', 'failure', 'slow']);
    expect(rs.every((r) => r.openUntil === 0)).toBe(true);
    const [third] = await signals(key, ['failure']);
    expect(third!.openUntil).toBe(T0 + rules.cooldownMs);
  });

  it('keeps an open breaker open, with the same cool-down, for calls finishing meanwhile', async () => {
    const key = payerKey();
    await signals(key, ['failure', 'failure', 'failure'], T0);
    const openUntil = T0 + rules.cooldownMs;
    const rs = await signals(key, ['failure', 'ok', 'failure'], T0 + 100);
    expect(rs.map((r) => r.openUntil)).toEqual([openUntil, openUntil, openUntil]);
  });

  it('refuses the probe while open and lets a closed payer through without writing one', async () => {
    const closed = payerKey();
    expect(await takePayerProbe(redis, closed, T0, 5_000)).toBe(true);
    expect(await redis.exists(closed)).toBe(0);
    const key = payerKey();
    await signals(key, ['failure', 'failure', 'failure'], T0);
    expect(await takePayerProbe(redis, key, T0 + rules.cooldownMs - 1, 5_000)).toBe(false);
    expect((await hash(key)).probeUntil).toBeUndefined();
  });

  it('gives the single probe of a half-open payer to one caller until probeMs passes', async () => {
    const key = payerKey();
    await signals(key, ['failure', 'failure', 'failure'], T0);
    const halfOpenAt = T0 + rules.cooldownMs;
    expect(await takePayerProbe(redis, key, halfOpenAt, 5_000)).toBe(true);
    expect(Number((await hash(key)).probeUntil)).toBe(halfOpenAt + 5_000);
    expect(await takePayerProbe(redis, key, halfOpenAt, 5_000)).toBe(false);
    expect(await takePayerProbe(redis, key, halfOpenAt + 4_999, 5_000)).toBe(false);
    // The prober died: once probeMs has passed someone else may probe.
    expect(await takePayerProbe(redis, key, halfOpenAt + 5_000, 5_000)).toBe(true);
    expect(await takePayerProbe(redis, key, halfOpenAt + 5_001, 5_000)).toBe(false);
  });

  it('closes on the probe ok and starts over from the initial concurrency (slow start)', async () => {
    const key = payerKey();
    await signals(key, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok'], T0); // 8
    await signals(key, ['failure', 'failure', 'failure'], T0); // 4, 2, 1 and open
    const halfOpenAt = T0 + rules.cooldownMs;
    expect(await takePayerProbe(redis, key, halfOpenAt, 5_000)).toBe(true);
    const [probe] = await signals(key, ['ok'], halfOpenAt + 10);
    expect(probe).toEqual({ earned: rules.initialConcurrency, openUntil: 0 });
    const h = await hash(key);
    expect(h.probeUntil).toBeUndefined();
    expect(h.ssthresh).toBeUndefined();
    expect(Number(h.openUntil)).toBe(0);
    // ssthresh is gone: growth is one per ok again, and no probe is needed any more.
    const rs = await signals(key, ['ok', 'ok'], halfOpenAt + 20);
    expect(earnedOf(rs)).toEqual([rules.initialConcurrency + 1, rules.initialConcurrency + 2]);
    expect(await takePayerProbe(redis, key, halfOpenAt + 20, 5_000)).toBe(true);
    expect((await hash(key)).probeUntil).toBeUndefined();
  });

  it('re-opens on a failed probe, for a new cool-down, with the probe freed for later', async () => {
    const key = payerKey();
    await signals(key, ['failure', 'failure', 'failure'], T0);
    const halfOpenAt = T0 + rules.cooldownMs;
    // probeMs longer than the cool-down: a stale probeUntil would block the next probe.
    expect(await takePayerProbe(redis, key, halfOpenAt, 10_000)).toBe(true);
    const [probe] = await signals(key, ['failure'], halfOpenAt + 10);
    const reopenedUntil = halfOpenAt + 10 + rules.cooldownMs;
    expect(probe!.openUntil).toBe(reopenedUntil);
    expect((await hash(key)).probeUntil).toBeUndefined();
    expect(await takePayerProbe(redis, key, reopenedUntil - 1, 10_000)).toBe(false);
    expect(await takePayerProbe(redis, key, reopenedUntil, 10_000)).toBe(true);
  });

  it('a single failure of the half-open probe re-opens even with a high threshold', async () => {
    const key = payerKey();
    const r = { ...rules, failureThreshold: 2 };
    await signals(key, ['failure', 'failure'], T0, r);
    const halfOpenAt = T0 + r.cooldownMs;
    const [probe] = await signals(key, ['failure'], halfOpenAt, r);
    expect(probe!.openUntil).toBe(halfOpenAt + r.cooldownMs);
    // The streak was reset when it opened: one failure is below the threshold of 2, yet it opens.
  });
});
