import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import {
  KeyScheduler,
  type CheckAdmission,
  type CheckKeys,
  type KeySchedulerOptions,
} from '../../../src/worker/scheduling/key-scheduler.js';
import type { EffectiveLimits } from '../../../src/shared/scheduling/limits.js';
import { SchedulerKeys } from '../../../src/shared/scheduling/keys.js';
import type { PayerHealthRules } from '../../../src/worker/scheduling/payer-health.js';
import { uniqueName } from '../../support/names.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const rules: PayerHealthRules = {
  initialConcurrency: 2,
  maxConcurrency: 10,
  failureThreshold: 3,
  cooldownMs: 1_000,
};
const TOKEN_TTL_MS = 60_000;
const REFRESH_MS = 50;

let prefix: string;
let keys: SchedulerKeys;
/** The injected clock every scheduler of a test shares (both "workers" agree on the time). */
let clock: number;
let limits: EffectiveLimits;
let admin: Redis;
let errors: Error[];
let made: KeyScheduler[];
let connections: Redis[];

function defaultLimits(): EffectiveLimits {
  return {
    allocation: 10,
    realtimeReserved: 0,
    payers: { defaultCap: 10, caps: {}, npiCap: 0 },
    tenants: {},
    lending: { floor: 0, waitTargetMs: 100, waitPercentile: 99 },
  };
}

beforeEach(() => {
  prefix = uniqueName('ks');
  keys = new SchedulerKeys(prefix);
  clock = 1_700_000_000_000;
  limits = defaultLimits();
  admin = new Redis(inject('redisUrl'));
  errors = [];
  made = [];
  connections = [admin];
});

afterEach(async () => {
  await Promise.allSettled(made.map((s) => s.close()));
  await Promise.allSettled(connections.map((c) => c.quit()));
  expect(errors).toEqual([]);
});

/** One worker process's scheduler, on its own connection, sharing the test's prefix and clock. */
function worker(over: Partial<KeySchedulerOptions> = {}): KeyScheduler {
  const redis = new Redis(inject('redisUrl'));
  connections.push(redis);
  const s = new KeyScheduler({
    redis,
    prefix,
    limits: () => limits,
    rules,
    tokenTtlMs: TOKEN_TTL_MS,
    refreshMs: REFRESH_MS,
    now: () => clock,
    onError: (err) => errors.push(err),
    ...over,
  });
  made.push(s);
  return s;
}

const batch = (payer: string, tenant = 'tenant-a', npi?: string): CheckKeys => ({
  payer,
  tenant,
  npi,
  pool: 'batch',
});
const realtime = (payer: string, tenant = 'tenant-a', npi?: string): CheckKeys => ({
  payer,
  tenant,
  npi,
  pool: 'realtime',
});

/** Picks the admission for a slot and writes its tokens, as the worker does once it has a slot. */
async function run(a: CheckAdmission): Promise<CheckAdmission> {
  expect(a.mayStart()).toBe(true);
  a.reserve();
  expect(await a.started()).toBe(true);
  return a;
}

/** Opens `payer`'s breaker through `s` with threshold failures; returns when it reopens. */
async function openBreaker(s: KeyScheduler, payer: string): Promise<number> {
  for (let i = 0; i < rules.failureThreshold; i++) {
    const a = await run(s.admission(realtime(payer)));
    await a.finished('failure');
  }
  return clock + rules.cooldownMs;
}

/**
 * Another payer's check waits in `s` and could run. Earned concurrency and caps exist to protect
 * such checks, so the tests of those limits set this contention up explicitly.
 */
function contend(s: KeyScheduler): CheckAdmission {
  const other = s.admission(batch('OTHER', 'tenant-other'));
  other.setWaiting(true);
  return other;
}

describe('payer earned concurrency (while another payer waits)', () => {
  it('counts reservations of this process at once, before any refresh', () => {
    const a = worker();
    contend(a);
    const [p1, p2, p3] = [1, 2, 3].map(() => a.admission(batch('P')));
    expect(p1!.mayStart()).toBe(true);
    p1!.reserve();
    p1!.reserve(); // reserving twice counts once
    expect(p2!.mayStart()).toBe(true);
    const undo = p2!.reserve();
    // P holds its earned 2: a third check of P waits, a check of another payer does not.
    expect(p3!.mayStart()).toBe(false);
    expect(a.admission(batch('Q')).mayStart()).toBe(true);
    // The claim was lost: the undo gives the reservation back.
    undo();
    expect(p3!.mayStart()).toBe(true);
    undo(); // idempotent
    expect(a.count('payer', 'P')).toBe(1);
  });

  it("sees the other worker's tokens after refreshNow, without counting its own twice", async () => {
    const a = worker();
    const b = worker();
    contend(a);
    contend(b);
    const held = [await run(a.admission(batch('P'))), await run(a.admission(batch('P')))];
    const other = b.admission(batch('P'));
    expect(other.mayStart()).toBe(true); // b has not read Redis yet
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(2);
    expect(other.mayStart()).toBe(false);
    // a's reservations became tokens: after its refresh they count once, not twice nor zero.
    await a.refreshNow();
    expect(a.count('payer', 'P')).toBe(2);
    expect(a.admission(batch('P')).mayStart()).toBe(false);
    // One answers well: the token goes and P earns a third slot, which b sees on its refresh.
    await held[0]!.finished('ok');
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(1);
    expect(other.mayStart()).toBe(true);
    other.reserve();
    expect(b.admission(batch('P')).mayStart()).toBe(true); // earned 3, held 2
    await held[1]!.release();
  });

  it('follows the earned concurrency the payer earns and loses', async () => {
    const a = worker();
    contend(a);
    for (let i = 0; i < 3; i++) await (await run(a.admission(batch('P')))).finished('ok');
    // Earned 5 now: five may hold P at once.
    const five = Array.from({ length: 6 }, () => a.admission(batch('P')));
    for (const x of five.slice(0, 5)) {
      expect(x.mayStart()).toBe(true);
      x.reserve();
    }
    expect(five[5]!.mayStart()).toBe(false);
    for (const x of five) await x.release();
    // A failure halves it (5 -> 2.5, floored to 2).
    await (await run(a.admission(batch('P')))).finished('failure');
    const two = Array.from({ length: 3 }, () => a.admission(batch('P')));
    two[0]!.reserve();
    two[1]!.reserve();
    expect(two[2]!.mayStart()).toBe(false);
    for (const x of two) await x.release();
  });

  // A refresh between reserve() and started() (the DynamoDB claim in flight) must not forget the
  // pick: it has no token in Redis yet, so the read cannot include it.
  it('still counts a reservation whose tokens are not written yet after a refresh', async () => {
    const a = worker();
    contend(a);
    const p1 = a.admission(batch('P'));
    const p2 = a.admission(batch('P'));
    p1.reserve();
    p2.reserve();
    await a.refreshNow(); // lands between reserve() and started()
    expect(a.admission(batch('P')).mayStart()).toBe(false);
    await p1.release();
    await p2.release();
  });
});

describe('atomic take (started() checks the limits against every worker)', () => {
  it('refuses a check the stale cache let through, writes nothing, and unpick() undoes the pick', async () => {
    const a = worker();
    const b = worker();
    contend(b);
    const late = b.admission(batch('P', 'tenant-b'));
    await b.refreshNow();
    const held = [await run(a.admission(batch('P'))), await run(a.admission(batch('P')))];
    expect(late.mayStart()).toBe(true); // b's counts are behind
    late.reserve();
    expect(await late.started()).toBe(false);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(2);
    expect(await admin.zcard(keys.held('tenant', 'tenant-b'))).toBe(0);
    expect(b.count('payer', 'P')).toBe(1);
    late.unpick();
    expect(b.count('payer', 'P')).toBe(0);
    await b.refreshNow();
    expect(late.mayStart()).toBe(false);
    await held[0]!.release();
    await b.refreshNow();
    expect(late.mayStart()).toBe(true);
    late.reserve();
    expect(await late.started()).toBe(true);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(2);
    expect(await admin.zcard(keys.held('tenant', 'tenant-b'))).toBe(1);
    await late.release();
    expect(await admin.zcard(keys.held('tenant', 'tenant-b'))).toBe(0);
  });

  it('refuses over the tenant limit and the payer + NPI cap held in other workers', async () => {
    limits = {
      ...limits,
      tenants: { 'tenant-a': { maxConcurrency: 1 } },
      payers: { ...limits.payers, npiCap: 1 },
    };
    // Payer R may hold more than these checks: only the tenant and NPI limits are at stake.
    const a = worker({ rules: { ...rules, initialConcurrency: 5 } });
    const b = worker({ rules: { ...rules, initialConcurrency: 5 } });
    await run(a.admission(batch('P', 'tenant-a')));
    await run(a.admission(batch('R', 'tenant-x', 'N1')));
    expect(await b.admission(batch('Q', 'tenant-a')).started()).toBe(false);
    expect(await b.admission(batch('R', 'tenant-y', 'N1')).started()).toBe(false);
    expect(await b.admission(batch('R', 'tenant-y', 'N2')).started()).toBe(true);
    expect(await b.admission(batch('R', 'tenant-y')).started()).toBe(true);
    expect(await admin.zcard(keys.held('npi', 'R:N1'))).toBe(1);
    // Realtime takes its tokens whatever the limits.
    expect(await b.admission(realtime('Q', 'tenant-a', 'N1')).started()).toBe(true);
    expect(await b.admission(realtime('R', 'tenant-a', 'N1')).started()).toBe(true);
    expect(await admin.zcard(keys.held('tenant', 'tenant-a'))).toBe(3);
  });

  it("takes the payer cap into account only while another payer's check waits", async () => {
    limits = { ...limits, payers: { ...limits.payers, defaultCap: 2 } };
    const generous = { ...rules, initialConcurrency: 5 };
    const a = worker({ rules: generous });
    const b = worker({ rules: generous });
    await run(a.admission(batch('P')));
    await run(a.admission(batch('P')));
    expect(await b.admission(batch('P')).started()).toBe(true); // 3 of earned 5
    b.admission(batch('Q')).setWaiting(true);
    expect(await b.admission(batch('P')).started()).toBe(false); // over the cap of 2
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(3);
  });
});

describe('payer cap under contention', () => {
  beforeEach(() => {
    limits = { ...limits, payers: { ...limits.payers, defaultCap: 2 } };
  });
  const generous = { ...rules, initialConcurrency: 5 };

  it("applies only while another payer's admission waits and could run", async () => {
    const a = worker({ rules: generous });
    a.admission(batch('P')).reserve();
    a.admission(batch('P')).reserve();
    const p = a.admission(batch('P'));
    expect(p.mayStart()).toBe(true); // earned 5, nobody else waits
    const q = a.admission(batch('Q', 'tenant-q'));
    expect(p.mayStart()).toBe(true); // Q exists but does not wait
    q.setWaiting(true);
    expect(p.mayStart()).toBe(false); // Q waits and could run: P keeps to its cap of 2
    q.setWaiting(false);
    expect(p.mayStart()).toBe(true);

    // Q waits but cannot run (its tenant is at its limit): no reason to cap P.
    q.setWaiting(true);
    limits = { ...limits, tenants: { 'tenant-q': { maxConcurrency: 1 } } };
    const r = a.admission(batch('R', 'tenant-q'));
    r.reserve();
    expect(q.mayStart()).toBe(false);
    expect(p.mayStart()).toBe(true);
    await r.release();
    expect(p.mayStart()).toBe(false);

    // A released admission stops waiting.
    await q.release();
    expect(p.mayStart()).toBe(true);
  });

  it("ignores P's own waiting checks and honours per-payer caps (slots or a share)", () => {
    const a = worker({ rules: generous });
    a.admission(batch('P')).reserve();
    a.admission(batch('P')).reserve();
    const p = a.admission(batch('P'));
    a.admission(batch('P')).setWaiting(true);
    expect(p.mayStart()).toBe(true);
    a.admission(batch('Q')).setWaiting(true);
    expect(p.mayStart()).toBe(false);
    limits = { ...limits, payers: { ...limits.payers, caps: { P: 3 } } };
    expect(p.mayStart()).toBe(true);
    limits = { ...limits, payers: { ...limits.payers, caps: { P: '20%' } } }; // 2 of 10
    expect(p.mayStart()).toBe(false);
    limits = { ...limits, payers: { ...limits.payers, caps: { P: '40%' } } }; // 4 of 10
    expect(p.mayStart()).toBe(true);
    // The cap never raises the earned concurrency.
    limits = { ...limits, payers: { ...limits.payers, caps: { P: 9 } } };
    a.admission(batch('P')).reserve();
    a.admission(batch('P')).reserve();
    a.admission(batch('P')).reserve(); // 5 held, earned 5
    expect(p.mayStart()).toBe(false);
  });

  it('caps both payers when both wait in one worker (no mutual recursion)', async () => {
    const a = worker({ rules: generous });
    for (const payer of ['P', 'Q']) {
      a.admission(batch(payer)).reserve();
      a.admission(batch(payer)).reserve();
    }
    const p = a.admission(batch('P'));
    const q = a.admission(batch('Q'));
    p.setWaiting(true);
    q.setWaiting(true);
    expect(p.mayStart()).toBe(false);
    expect(q.mayStart()).toBe(false);
    // With room under its cap, each may start even though the other waits.
    limits = { ...limits, payers: { ...limits.payers, defaultCap: 3 } };
    expect(p.mayStart()).toBe(true);
    expect(q.mayStart()).toBe(true);
    await a.refreshNow();
  });

  it('applies while a payer waits in another worker, until that mark expires', async () => {
    const a = worker({ rules: generous });
    const b = worker({ rules: generous });
    await run(a.admission(batch('P')));
    await run(a.admission(batch('P')));
    const p = a.admission(batch('P'));
    const q = b.admission(batch('Q', 'tenant-q'));
    q.setWaiting(true);
    await b.refreshNow();
    expect(await admin.zrange(keys.waiting, '0', '-1')).toEqual(['Q']);
    expect(p.mayStart()).toBe(true); // a has not read it yet
    await a.refreshNow();
    expect(p.mayStart()).toBe(false);
    // Q stops waiting: its mark stays for three refresh periods, then a lets P past its cap.
    q.setWaiting(false);
    await b.refreshNow();
    await a.refreshNow();
    expect(p.mayStart()).toBe(false);
    clock += REFRESH_MS + 200 + 1; // past the mark (an interval and 200 ms)
    await a.refreshNow();
    expect(p.mayStart()).toBe(true);
    expect(await admin.zrange(keys.waiting, '0', '-1')).toEqual([]);
    await q.release();
  });

  it('does not publish a waiting check that cannot run', async () => {
    limits = { ...limits, tenants: { 'tenant-q': { maxConcurrency: 1 } } };
    const a = worker({ rules: generous });
    const b = worker({ rules: generous });
    await run(a.admission(batch('P')));
    await run(a.admission(batch('P')));
    await run(b.admission(batch('R', 'tenant-q')));
    const q = b.admission(batch('Q', 'tenant-q'));
    q.setWaiting(true);
    await b.refreshNow();
    expect(q.mayStart()).toBe(false);
    expect(await admin.zrange(keys.waiting, '0', '-1')).toEqual([]);
    await a.refreshNow();
    expect(a.admission(batch('P')).mayStart()).toBe(true);
  });

  it('keeps two workers capping each other while both payers wait at their caps', async () => {
    const a = worker({ rules: generous });
    const b = worker({ rules: generous });
    for (let i = 0; i < 2; i++) {
      await run(a.admission(batch('P')));
      await run(b.admission(batch('Q')));
    }
    const p = a.admission(batch('P'));
    const q = b.admission(batch('Q'));
    p.setWaiting(true);
    q.setWaiting(true);
    await b.refreshNow();
    await a.refreshNow();
    // Each waiting payer keeps the other at its cap, round after round (no oscillation once a
    // capped payer stops announcing that it waits).
    for (let round = 0; round < 8; round++) {
      clock += REFRESH_MS;
      await b.refreshNow();
      await a.refreshNow();
      expect({ round, p: p.mayStart(), q: q.mayStart() }).toEqual({ round, p: false, q: false });
    }
    expect((await admin.zrange(keys.waiting, '0', '-1')).sort()).toEqual(['P', 'Q']);
  });
});

describe('tenant and payer + NPI limits', () => {
  it('holds a tenant to its maxConcurrency across payers and workers', async () => {
    limits = { ...limits, tenants: { 'tenant-a': { maxConcurrency: 2 } } };
    const a = worker();
    const b = worker();
    a.admission(batch('P', 'tenant-a')).reserve();
    await run(a.admission(batch('Q', 'tenant-a')));
    expect(a.admission(batch('R', 'tenant-a')).mayStart()).toBe(false);
    expect(a.admission(batch('R', 'tenant-b')).mayStart()).toBe(true); // no limit set
    const elsewhere = b.admission(batch('S', 'tenant-a'));
    await b.refreshNow();
    expect(b.count('tenant', 'tenant-a')).toBe(1); // only the started one has a token
    limits = { ...limits, tenants: { 'tenant-a': { maxConcurrency: 1 } } };
    expect(elsewhere.mayStart()).toBe(false);
    // Limits are read at each decision: raising it lets the check through at once.
    limits = { ...limits, tenants: { 'tenant-a': { maxConcurrency: 3 } } };
    expect(elsewhere.mayStart()).toBe(true);
    expect(a.admission(batch('R', 'tenant-a')).mayStart()).toBe(true);
  });

  it('caps one payer + NPI pair, not the payer nor the NPI at other payers', async () => {
    limits = { ...limits, payers: { ...limits.payers, npiCap: 1 } };
    const a = worker();
    const b = worker();
    await run(a.admission(batch('P', 'tenant-a', '1111111111')));
    expect(a.admission(batch('P', 'tenant-b', '1111111111')).mayStart()).toBe(false);
    expect(a.admission(batch('P', 'tenant-a', '2222222222')).mayStart()).toBe(true);
    expect(a.admission(batch('Q', 'tenant-a', '1111111111')).mayStart()).toBe(true);
    expect(a.admission(batch('P', 'tenant-a')).mayStart()).toBe(true); // names no NPI
    expect(await admin.zcard(keys.held('npi', 'P:1111111111'))).toBe(1);
    const elsewhere = b.admission(batch('P', 'tenant-c', '1111111111'));
    await b.refreshNow();
    expect(elsewhere.mayStart()).toBe(false);
    limits = { ...limits, payers: { ...limits.payers, npiCap: 0 } }; // 0: no cap
    expect(elsewhere.mayStart()).toBe(true);
  });
});

describe('realtime', () => {
  it('may always start, yet counts against the keys it uses', async () => {
    limits = {
      ...limits,
      tenants: { 'tenant-a': { maxConcurrency: 1 } },
      payers: { ...limits.payers, npiCap: 1, defaultCap: 1 },
    };
    const a = worker();
    const rts = Array.from({ length: 3 }, () => a.admission(realtime('P', 'tenant-a', 'N1')));
    for (const rt of rts) {
      expect(rt.mayStart()).toBe(true);
      rt.reserve();
    }
    contend(a);
    expect(a.admission(realtime('P', 'tenant-a', 'N1')).mayStart()).toBe(true);
    expect(a.admission(batch('P', 'tenant-b')).mayStart()).toBe(false); // P holds 3 > earned 2
    expect(a.admission(batch('R', 'tenant-a')).mayStart()).toBe(false); // tenant at its limit
    await openBreaker(a, 'P');
    expect(a.breaker('P').state).toBe('open');
    expect(a.admission(realtime('P', 'tenant-c')).mayStart()).toBe(true);
    const done = a.admission(realtime('P'));
    await done.release();
    expect(done.mayStart()).toBe(false); // a released admission never starts
  });
});

describe('payer breaker', () => {
  it('holds batch back while open and reports the time left, in every worker', async () => {
    const a = worker();
    const b = worker();
    const elsewhere = b.admission(batch('P'));
    expect(a.breaker('P')).toMatchObject({ state: 'closed', remainingMs: 0 });
    const openUntil = await openBreaker(a, 'P');
    expect(a.breaker('P')).toMatchObject({ state: 'open', remainingMs: rules.cooldownMs });
    expect(a.admission(batch('P')).mayStart()).toBe(false);
    expect(a.admission(batch('Q')).mayStart()).toBe(true);
    clock += 400;
    expect(a.breaker('P')).toMatchObject({ state: 'open', remainingMs: rules.cooldownMs - 400 });
    expect(elsewhere.mayStart()).toBe(true); // b has not read it yet
    await b.refreshNow();
    expect(b.breaker('P')).toMatchObject({ state: 'open', remainingMs: openUntil - clock });
    expect(elsewhere.mayStart()).toBe(false);
    clock = openUntil;
    expect(b.breaker('P')).toMatchObject({ state: 'half-open', remainingMs: 0 });
    expect(elsewhere.mayStart()).toBe(true);
  });

  it('lets one check probe a half-open payer: started() takes the probe once', async () => {
    // Starting from 20, three failures leave an earned 2.5: half-open must still allow only one.
    const high = { ...rules, initialConcurrency: 20, maxConcurrency: 20 };
    const a = worker({ rules: high });
    const b = worker({ rules: high });
    const openUntil = await openBreaker(a, 'P');
    const elsewhere = b.admission(batch('P'));
    await b.refreshNow();
    // Open: started() refuses (no probe yet) and writes no token.
    const early = a.admission(batch('P'));
    expect(await early.started()).toBe(false);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(0);
    await early.release();

    clock = openUntil + 1;
    const probe = a.admission(batch('P'));
    const second = a.admission(batch('P'));
    expect(probe.mayStart()).toBe(true);
    probe.reserve();
    expect(second.mayStart()).toBe(false); // half-open: one at a time
    expect(elsewhere.mayStart()).toBe(true); // b does not know yet
    expect(await probe.started()).toBe(true);
    expect(await second.started()).toBe(false);
    expect(await elsewhere.started()).toBe(false);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(1);
    await b.refreshNow();
    expect(elsewhere.mayStart()).toBe(false); // b sees the probe in flight

    // The probe answers: closed again, from the initial concurrency, everywhere.
    await probe.finished('ok');
    expect(a.breaker('P').state).toBe('closed');
    expect(await admin.hget(keys.payer('P'), 'earned')).toBe('20');
    await b.refreshNow();
    expect(b.breaker('P').state).toBe('closed');
    expect(elsewhere.mayStart()).toBe(true);
    expect(await elsewhere.started()).toBe(true);
    await elsewhere.release();
    await second.release();
  });

  it('frees the probe at once when the probe ends without a signal', async () => {
    const a = worker();
    const b = worker();
    const openUntil = await openBreaker(a, 'P');
    clock = openUntil;
    const probe = a.admission(batch('P'));
    expect(await probe.started()).toBe(true);
    await probe.finished(undefined); // e.g. an account-wide 429: nothing said about the payer
    const next = b.admission(batch('P'));
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(0);
    expect(b.breaker('P').state).toBe('half-open');
    // Not held for a token's life (a bound): the next check probes right away.
    expect(next.mayStart()).toBe(true);
    expect(await next.started()).toBe(true);
    await next.release();
  });

  it('does not probe while an older call of the payer is still in flight', async () => {
    // From 20, three failures leave 2.5 earned: the one-at-a-time rule is what refuses here.
    const high = { ...rules, initialConcurrency: 20, maxConcurrency: 20 };
    const a = worker({ rules: high });
    const inFlight = await run(a.admission(realtime('P'))); // started before the breaker opened
    const openUntil = await openBreaker(a, 'P');
    clock = openUntil;
    await a.refreshNow();
    const probe = a.admission(batch('P'));
    expect(probe.mayStart()).toBe(false);
    expect(await probe.started()).toBe(false);
    await inFlight.release();
    await a.refreshNow();
    expect(probe.mayStart()).toBe(true);
    expect(await probe.started()).toBe(true);
    await probe.release();
  });

  it('gives the probe to another check once a dead prober has had its time', async () => {
    const a = worker();
    const b = worker();
    const openUntil = await openBreaker(a, 'P');
    clock = openUntil;
    const stuck = a.admission(batch('P'));
    expect(await stuck.started()).toBe(true); // its worker dies without an answer
    const next = b.admission(batch('P'));
    await b.refreshNow();
    expect(next.mayStart()).toBe(false);
    expect(await next.started()).toBe(false);
    clock += TOKEN_TTL_MS;
    await b.refreshNow();
    expect(next.mayStart()).toBe(true);
    expect(await next.started()).toBe(true);
    // A failed probe opens it again.
    await next.finished('failure');
    expect(b.breaker('P')).toMatchObject({ state: 'open', remainingMs: rules.cooldownMs });
  });
});

describe('tokens', () => {
  it('writes one token per key with expiry now + tokenTtlMs, and marks the keys active', async () => {
    const a = worker();
    await run(a.admission(batch('P', 'tenant-a', 'N1')));
    for (const [kind, id] of [
      ['payer', 'P'],
      ['tenant', 'tenant-a'],
      ['npi', 'P:N1'],
    ] as const) {
      const entries = await admin.zrange(keys.held(kind, id), '0', '-1', 'WITHSCORES');
      expect(entries).toHaveLength(2);
      expect(Number(entries[1])).toBe(clock + TOKEN_TTL_MS);
      expect(await admin.pttl(keys.held(kind, id))).toBeGreaterThan(TOKEN_TTL_MS - 5_000);
    }
    expect((await admin.zrange(keys.active, '0', '-1')).sort()).toEqual([
      'payer:P',
      'tenant:tenant-a',
    ]);
    // A check naming no NPI holds no payer + NPI token.
    await run(a.admission(batch('Q', 'tenant-a')));
    expect(await admin.zcard(keys.held('payer', 'Q'))).toBe(1);
    expect((await admin.keys(`${prefix}:sched:held:npi:*`)).sort()).toEqual([
      keys.held('npi', 'P:N1'),
    ]);
  });

  it('release() removes the tokens and the reservation, once however often it is called', async () => {
    const a = worker();
    const b = worker();
    const first = await run(a.admission(batch('P', 'tenant-a', 'N1')));
    await run(a.admission(batch('P', 'tenant-a', 'N1')));
    const watcher = b.admission(batch('P', 'tenant-a', 'N1'));
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(2);
    await a.refreshNow();
    await first.release();
    await first.release();
    expect(first.mayStart()).toBe(false);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(1);
    expect(await admin.zcard(keys.held('tenant', 'tenant-a'))).toBe(1);
    expect(await admin.zcard(keys.held('npi', 'P:N1'))).toBe(1);
    expect(a.count('payer', 'P')).toBe(1);
    await a.refreshNow();
    expect(a.count('payer', 'P')).toBe(1);
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(1);
    expect(b.count('npi', 'P:N1')).toBe(1);
    expect(watcher.mayStart()).toBe(true);
    // finished() after a release writes nothing more.
    await first.finished(undefined);
    expect(a.count('payer', 'P')).toBe(1);
  });

  it('release() of a picked check that never started gives its reservation back', async () => {
    const a = worker();
    contend(a);
    const p1 = a.admission(batch('P'));
    p1.reserve();
    a.admission(batch('P')).reserve();
    expect(a.admission(batch('P')).mayStart()).toBe(false);
    await p1.release();
    await p1.release();
    expect(a.count('payer', 'P')).toBe(1);
    expect(a.admission(batch('P')).mayStart()).toBe(true);
  });

  it("lets a dead worker's tokens expire after tokenTtlMs", async () => {
    const a = worker();
    const b = worker();
    contend(b);
    await run(a.admission(batch('P')));
    await run(a.admission(batch('P')));
    await a.close(); // dies without releasing
    const next = b.admission(batch('P'));
    await b.refreshNow();
    expect(next.mayStart()).toBe(false);
    clock += TOKEN_TTL_MS - 1;
    await b.refreshNow();
    expect(next.mayStart()).toBe(false);
    clock += 2;
    // The atomic take drops expired tokens itself, before any refresh.
    const first = b.admission(batch('P'));
    expect(await first.started()).toBe(true);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(1);
    await b.refreshNow();
    expect(b.count('payer', 'P')).toBe(1);
    expect(next.mayStart()).toBe(true);
    await first.release();
  });

  it('close() waits for the writes it started', async () => {
    const a = worker();
    const held = await run(a.admission(batch('P')));
    const failing = await run(a.admission(batch('Q')));
    // Keep the worker's connection busy for 300 ms: the writes below queue behind it, and
    // close() must not resolve before they land.
    const busy = a.options.redis.blpop(`${prefix}:never`, 0.3);
    void held.release();
    void failing.finished('failure');
    const started = Date.now();
    await a.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(await admin.zcard(keys.held('payer', 'P'))).toBe(0);
    expect(await admin.zcard(keys.held('payer', 'Q'))).toBe(0);
    expect(await admin.hget(keys.payer('Q'), 'streak')).toBe('1');
    expect(await busy).toBeNull();
  });

  it('close() stops the refresh loop', async () => {
    let changes = 0;
    const a = worker({ refreshMs: 10, now: Date.now, onChange: () => changes++ });
    a.admission(batch('P'));
    a.start();
    await sleep(100);
    expect(changes).toBeGreaterThan(2);
    await a.close();
    const after = changes;
    await sleep(100);
    expect(changes).toBe(after);
  });

  it('close() during a refresh stops the loop too', async () => {
    let changes = 0;
    const a = worker({ refreshMs: 10, now: Date.now, onChange: () => changes++ });
    a.admission(batch('P'));
    a.start(); // the first refresh is in flight
    await a.close();
    expect(changes).toBe(1);
    await sleep(100);
    expect(changes).toBe(1);
  });
});

describe('realtime arrivals', () => {
  it('are shared through Redis over the last minute', async () => {
    const a = worker();
    const b = worker();
    a.noteRealtimeArrival();
    a.noteRealtimeArrival();
    a.noteRealtimeArrival();
    expect(a.realtimeArrivalsPerMs()).toBeCloseTo(3 / 60_000, 12);
    await a.refreshNow();
    expect(a.realtimeArrivalsPerMs()).toBeCloseTo(3 / 60_000, 12); // moved, not counted twice
    await b.refreshNow();
    expect(b.realtimeArrivalsPerMs()).toBeCloseTo(3 / 60_000, 12);
    clock += 61_000;
    await b.refreshNow();
    expect(b.realtimeArrivalsPerMs()).toBe(0);
  });
});

describe('a payer alone (final review)', () => {
  it('takes tokens past the allocation when no other payer is active, as the local check allows', async () => {
    // A dead worker's tokens outlive its slots (they last Stedi's bound); alone, the payer has no
    // limit of its own, so the atomic take must not refuse what the local check let through, or
    // the check would give its slot back and loop until those tokens expire.
    const a = worker();
    const stale = Array.from({ length: limits.allocation }, (_, i) => [
      clock + 60_000,
      `dead:${i}`,
    ]);
    await admin.zadd(keys.held('payer', 'P'), ...stale.flat());
    await a.refreshNow();
    const check = a.admission(batch('P'));
    expect(check.mayStart()).toBe(true);
    expect(await check.started()).toBe(true);
    await check.release();
  });

  it('keeps its waiting mark across a refresh slower than half the refresh interval', async () => {
    const a = worker();
    const waiting = a.admission(batch('P'));
    waiting.setWaiting(true);
    const t0 = clock;
    await a.refreshNow();
    // The next mark comes refreshMs after this refresh ends, and a refresh takes time of its own:
    // the mark must outlast two intervals, or other workers see nobody waiting in between.
    const score = Number(await admin.zscore(keys.waiting, 'P'));
    expect(score).toBeGreaterThanOrEqual(t0 + 2 * REFRESH_MS);
    await waiting.release();
  });
});
