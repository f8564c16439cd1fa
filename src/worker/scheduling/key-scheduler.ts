/**
 * Payers, tenants and payer + provider NPI pairs as scheduling keys, shared by every worker
 * through Redis. A check holds a token on each of its keys from the moment it is picked for a slot
 * until its call ends (tokens expire after Stedi's bound, so a dead worker's count fades by
 * itself). Decisions are made synchronously from a cache refreshed every `refreshMs`, plus what
 * this process picked since: the allocation itself is guarded by the semaphore, these limits are
 * soft and may be overshot by a check or two when workers race.
 *
 * A batch check may start when its payer's breaker lets it, its payer holds fewer than the
 * concurrency it has earned (and, while other payers' checks wait, fewer than its cap), its tenant
 * is under its concurrency limit and its payer + NPI under that cap. Realtime checks skip the
 * limits (they count against them), and the breaker decides their fate in the worker.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Pool } from '../../shared/semaphore/types.js';
import { keysOfJobName } from '../../shared/check-queues.js';
import { SchedulerKeys, type HeldKind } from '../../shared/scheduling/keys.js';
import {
  payerCap,
  tenantLimit,
  wellFormed,
  type EffectiveLimits,
} from '../../shared/scheduling/limits.js';
import { freeProbe, holdTokens } from './hold-tokens.js';
import { recordPayerSignal, type PayerHealthRules, type PayerSignal } from './payer-health.js';

/** The keys of one check. */
export interface CheckKeys {
  readonly payer: string;
  readonly tenant: string;
  /** Provider NPI (not patient data); undefined when the request names none. */
  readonly npi: string | undefined;
  readonly pool: Pool;
}

/** Options of a KeyScheduler; durations in ms. */
export interface KeySchedulerOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly limits: () => EffectiveLimits;
  readonly rules: PayerHealthRules;
  /** Tokens outlive a dead worker this long (Stedi's bound plus a margin). */
  readonly tokenTtlMs: number;
  /** @defaultValue 200 */
  readonly refreshMs?: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
  /**
   * Where checks not yet fetched by any worker wait: the batch queue's prioritized set and the
   * prefix of its job hashes. Payers at its head count as waiting, so a payer's cap applies
   * against checks no worker has fetched yet (a run sorted by payer fills every lane with one).
   */
  readonly queue?: { readonly prioritized: string; readonly jobPrefix: string };
  /** Called when decisions may have changed (the worker re-runs the semaphore's grants). */
  readonly onChange?: () => void;
  readonly onError?: (err: Error) => void;
}

/**
 * Why a check may not start now: its payer's breaker is open or probing, its payer holds its earned
 * concurrency or cap, its tenant or payer + NPI is at its limit (or the admission is over).
 */
export type HeldBack = 'breaker-open' | 'probe' | 'payer' | 'tenant' | 'npi' | 'released';

/** A payer's breaker as this process last saw it. */
export interface BreakerView {
  readonly state: 'closed' | 'open' | 'half-open';
  /** Until the breaker lets a probe through, in ms (0 unless open). */
  readonly remainingMs: number;
  /** When the current outage began (epoch ms; 0 when closed). */
  readonly downSince: number;
}

interface Counted {
  remote: number;
  /** Token writes and removals sent since the last refresh read (cleared by the refresh). */
  delta: number;
  /** Checks picked for a slot whose tokens are not written yet (no refresh can see them). */
  pending: number;
  users: number;
}

interface PayerHealth {
  earned: number | undefined;
  openUntil: number;
  probeUntil: number;
  /** When its breaker first opened in the current outage (0 when closed). */
  downSince: number;
}

const REALTIME_WINDOW_S = 60;
/** How many checks at the head of the batch queue tell which payers wait there. */
const QUEUE_HEAD = 50;
const QUEUE_READ_EVERY_MS = 1_000;

function idle(c: Counted): boolean {
  return c.users <= 0 && c.delta === 0 && c.pending === 0;
}

/** The shared scheduling state of one worker process. */
export class KeyScheduler {
  readonly keys: SchedulerKeys;
  private readonly counts = new Map<string, Counted>();
  private readonly health = new Map<string, PayerHealth>();
  private readonly waiting = new Set<CheckAdmission>();
  private payersWaiting: readonly string[] = [];
  private payersQueued: ReadonlySet<string> = new Set();
  /** Payers that took a token in the last two seconds, in any worker. */
  private payersRecent: readonly string[] = [];
  private queueReadAt = -Infinity;
  private realtimeLocal = 0;
  private realtimeWindow = 0;
  private readonly now: () => number;
  private readonly instance = randomUUID().slice(0, 12);
  private tokenCounter = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private readonly background = new Set<Promise<unknown>>();

  constructor(readonly options: KeySchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.keys = new SchedulerKeys(options.prefix);
  }

  /** Starts the refresh loop. */
  start(): void {
    if (this.timer || this.closed) return;
    const loop = () => {
      void this.refreshNow().finally(() => {
        if (this.closed) return;
        this.timer = setTimeout(loop, this.options.refreshMs ?? 200);
        this.timer.unref();
      });
    };
    loop();
  }

  /** The admission of one check: ask it before a slot is granted, tell it when the call ends. */
  admission(keys: CheckKeys): CheckAdmission {
    return new CheckAdmission(this, keys);
  }

  /** A payer's breaker read from Redis now (for a realtime check, which must not act on old news). */
  async breakerNow(payer: string): Promise<BreakerView> {
    const [earned, openUntil, probeUntil, downSince] = await this.options.redis.hmget(
      this.keys.payer(payer),
      'earned',
      'openUntil',
      'probeUntil',
      'downSince',
    );
    this.health.set(payer, {
      earned: earned ? Number(earned) : undefined,
      openUntil: Number(openUntil ?? 0),
      probeUntil: Number(probeUntil ?? 0),
      downSince: Number(downSince ?? 0),
    });
    return this.breaker(payer);
  }

  /** A payer's breaker as last read. */
  breaker(payer: string): BreakerView {
    const h = this.health.get(payer);
    const now = this.now();
    if (!h || h.openUntil === 0) return { state: 'closed', remainingMs: 0, downSince: 0 };
    const downSince = h.downSince || h.openUntil;
    if (h.openUntil > now) return { state: 'open', remainingMs: h.openUntil - now, downSince };
    return { state: 'half-open', remainingMs: 0, downSince };
  }

  /** The scheduler's clock. */
  nowMs(): number {
    return this.now();
  }

  /** What this process knows now, for its metrics: shared counts and health, local waiters. */
  snapshot(): {
    payers: { payer: string; inFlight: number; earned: number | undefined; open: boolean }[];
    tenants: { tenant: string; inFlight: number }[];
    waitingByPayer: Map<string, number>;
    waitingByTenant: Map<string, number>;
  } {
    const payers: ReturnType<KeyScheduler['snapshot']>['payers'] = [];
    const tenants: ReturnType<KeyScheduler['snapshot']>['tenants'] = [];
    for (const key of this.counts.keys()) {
      const i = key.indexOf(':');
      const kind = key.slice(0, i);
      const id = key.slice(i + 1);
      if (kind === 'tenant') tenants.push({ tenant: id, inFlight: this.count('tenant', id) });
      if (kind !== 'payer') continue;
      const h = this.health.get(id);
      payers.push({
        payer: id,
        inFlight: this.count('payer', id),
        earned: h?.earned,
        open: this.breaker(id).state === 'open',
      });
    }
    const waitingByPayer = new Map<string, number>();
    const waitingByTenant = new Map<string, number>();
    for (const a of this.waiting) {
      waitingByPayer.set(a.keys.payer, (waitingByPayer.get(a.keys.payer) ?? 0) + 1);
      waitingByTenant.set(a.keys.tenant, (waitingByTenant.get(a.keys.tenant) ?? 0) + 1);
    }
    return { payers, tenants, waitingByPayer, waitingByTenant };
  }

  /** Counts a realtime arrival for the lending policy. */
  noteRealtimeArrival(): void {
    this.realtimeLocal++;
  }

  /** Realtime arrivals per ms across every worker over the last minute. */
  realtimeArrivalsPerMs(): number {
    return (this.realtimeWindow + this.realtimeLocal) / (REALTIME_WINDOW_S * 1000);
  }

  /** Re-reads the shared state of every key this process cares about. */
  async refreshNow(): Promise<void> {
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    await this.refreshing;
  }

  /** Stops the loop and waits for the writes it started (at most `closeWaitMs`, for a dead Redis). */
  async close(closeWaitMs = 2_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([this.refreshing, ...this.background]),
      new Promise((r) => (timer = setTimeout(r, closeWaitMs))),
    ]);
    clearTimeout(timer);
  }

  // ---- used by CheckAdmission ----

  /** @internal */
  count(kind: HeldKind, id: string): number {
    const c = this.counts.get(`${kind}:${id}`);
    return c ? Math.max(0, c.remote + c.delta + c.pending) : 0;
  }

  /** @internal */
  use(kind: HeldKind, id: string, by: number): void {
    const key = `${kind}:${id}`;
    let c = this.counts.get(key);
    if (!c) {
      c = { remote: 0, delta: 0, pending: 0, users: 0 };
      this.counts.set(key, c);
    }
    c.users += by;
    if (idle(c)) this.counts.delete(key);
  }

  /** @internal */
  adjust(kind: HeldKind, id: string, field: 'delta' | 'pending', by: number): void {
    const c = this.counts.get(`${kind}:${id}`);
    if (c) c[field] += by;
  }

  /** @internal */
  setWaiting(a: CheckAdmission, waiting: boolean): void {
    if (waiting) this.waiting.add(a);
    else this.waiting.delete(a);
  }

  /** @internal True when another payer has checks in flight or waiting, here or elsewhere. */
  othersActive(payer: string): boolean {
    if (this.othersWaiting(payer)) return true;
    for (const p of this.payersRecent) if (p !== payer) return true;
    for (const [key, c] of this.counts)
      if (c.users > 0 && key.startsWith('payer:') && key.slice(6) !== payer) return true;
    return false;
  }

  /** @internal The token take found `payer`'s checks waiting at the queue head. */
  noteQueued(payer: string): void {
    // Until the next look at the queue (which will see it, or that it no longer waits).
    this.payersQueued = new Set([...this.payersQueued, payer]);
  }

  /** @internal True when a payer other than `payer` has a check that could run waiting. */
  othersWaiting(payer: string): boolean {
    if (this.payersWaiting.some((p) => p !== payer)) return true;
    for (const p of this.payersQueued) if (p !== payer) return true;
    for (const a of this.waiting) if (a.keys.payer !== payer && a.waitsToStart()) return true;
    return false;
  }

  /** @internal */
  payerHealth(payer: string): PayerHealth | undefined {
    return this.health.get(payer);
  }

  /** @internal */
  newToken(): string {
    return `${this.instance}:${++this.tokenCounter}`;
  }

  /** @internal Runs a write whose failure is reported, and which close() waits for. */
  track<T>(p: Promise<T>): Promise<T> {
    this.background.add(p);
    void p.then(
      () => this.background.delete(p),
      (err: unknown) => {
        this.background.delete(p);
        this.report(err);
      },
    );
    return p;
  }

  /** @internal */
  async record(payer: string, signal: PayerSignal): Promise<void> {
    const r = await recordPayerSignal(
      this.options.redis,
      this.keys.payer(payer),
      signal,
      this.options.rules,
      this.now(),
    );
    const h = this.health.get(payer) ?? {
      earned: undefined,
      openUntil: 0,
      probeUntil: 0,
      downSince: 0,
    };
    const changed =
      h.openUntil !== r.openUntil || Math.floor(h.earned ?? 0) !== Math.floor(r.earned);
    h.earned = r.earned;
    h.openUntil = r.openUntil;
    if (r.openUntil === 0) h.downSince = 0;
    this.health.set(payer, h);
    if (changed) this.options.onChange?.();
  }

  report(err: unknown): void {
    this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
  }

  /** Payers of the first checks waiting in the batch queue, read from their job names. */
  private async readQueuedPayers(): Promise<void> {
    const queue = this.options.queue;
    const now = this.now();
    if (!queue || this.waiting.size === 0) {
      this.payersQueued = new Set();
      return;
    }
    if (now - this.queueReadAt < QUEUE_READ_EVERY_MS) return;
    const { redis } = this.options;
    try {
      const ids = await redis.zrange(queue.prioritized, '0', String(QUEUE_HEAD - 1));
      const p = redis.pipeline();
      for (const id of ids) p.hget(`${queue.jobPrefix}${id}`, 'name');
      const names = ((await p.exec()) ?? []).map(([, name]) => name as string | null);
      const limits = this.options.limits();
      const entries = names
        .map(keysOfJobName)
        .filter((k): k is { payer: string; tenant: string } => k !== undefined);
      const payers = [...new Set(entries.map((e) => e.payer))];
      const limited = [
        ...new Set(
          entries
            .map((e) => e.tenant)
            .filter((t) => tenantLimit(limits, t).maxConcurrency !== undefined),
        ),
      ];
      // Only a payer running below the concurrency it has earned, breaker not open, waits for
      // slots (one at its own limit, a slow or failing payer, or paused, could not use them), and
      // only through checks of tenants below their own limit.
      const q = redis.pipeline();
      for (const payer of payers) {
        q.zcount(this.keys.held('payer', payer), now, '+inf');
        q.hmget(this.keys.payer(payer), 'earned', 'openUntil');
      }
      for (const tenant of limited) q.zcount(this.keys.held('tenant', tenant), now, '+inf');
      const replies = (await q.exec()) ?? [];
      const able = new Set(
        payers.filter((_, i) => {
          const running = Number(replies[2 * i]?.[1] ?? 0);
          const [earned, openUntil] = (replies[2 * i + 1]?.[1] ?? []) as (string | null)[];
          // Half-open, a payer runs its one probe and nothing else.
          const limit =
            Number(openUntil ?? 0) > 0
              ? 1
              : Math.floor(earned ? Number(earned) : this.options.rules.initialConcurrency);
          return running < limit && Number(openUntil ?? 0) <= now;
        }),
      );
      const full = new Set(
        limited.filter(
          (t, i) =>
            Number(replies[2 * payers.length + i]?.[1] ?? 0) >=
            (tenantLimit(limits, t).maxConcurrency ?? Infinity),
        ),
      );
      this.payersQueued = new Set(
        entries.filter((e) => able.has(e.payer) && !full.has(e.tenant)).map((e) => e.payer),
      );
      this.queueReadAt = now;
    } catch (err) {
      this.report(err);
    }
  }

  private async refresh(): Promise<void> {
    const { redis } = this.options;
    const now = this.now();
    const entries = [...this.counts.entries()];
    const payers = [
      ...new Set(entries.filter(([k]) => k.startsWith('payer:')).map(([k]) => k.slice(6))),
    ];
    const deltas = entries.map(([, c]) => c.delta);
    const second = Math.floor(now / 1000);
    const localArrivals = this.realtimeLocal;
    const p = redis.pipeline();
    for (const [key] of entries) {
      const i = key.indexOf(':');
      const held = this.keys.held(key.slice(0, i) as HeldKind, key.slice(i + 1));
      p.zremrangebyscore(held, '-inf', now);
      p.zcard(held);
    }
    for (const payer of payers)
      p.hmget(this.keys.payer(payer), 'earned', 'openUntil', 'probeUntil', 'downSince');
    const waitingHere = new Set<string>();
    for (const a of this.waiting) if (a.waitsToStart()) waitingHere.add(a.keys.payer);
    // The next mark comes one interval after this refresh ends, and a refresh takes time of its
    // own: an interval and 200 ms, so the mark does not lapse while the payer still waits (and a
    // payer that got its slot stops capping others soon after).
    const until = now + (this.options.refreshMs ?? 200) + 200;
    for (const payer of waitingHere) p.zadd(this.keys.waiting, until, payer);
    p.zremrangebyscore(this.keys.waiting, '-inf', now);
    p.zrangebyscore(this.keys.waiting, now, '+inf');
    p.zrangebyscore(this.keys.active, now - 2_000, '+inf');
    const rtKey = (s: number) => `${this.keys.prefix}:sched:rt:${s}`;
    if (localArrivals > 0) {
      p.incrby(rtKey(second), localArrivals);
      p.expire(rtKey(second), REALTIME_WINDOW_S * 2);
    }
    p.mget(Array.from({ length: REALTIME_WINDOW_S }, (_, i) => rtKey(second - i)));
    let replies: [Error | null, unknown][];
    try {
      replies = (await p.exec()) ?? [];
    } catch (err) {
      this.report(err);
      return;
    }
    const failed = replies.find(([e]) => e);
    if (failed?.[0]) {
      this.report(failed[0]);
      return;
    }
    let r = 0;
    const next = () => replies[r++]?.[1];
    entries.forEach(([, c], i) => {
      next();
      c.remote = Number(next() ?? 0);
      c.delta -= deltas[i] ?? 0;
    });
    for (const payer of payers) {
      const [earned, openUntil, probeUntil, downSince] = (next() ?? []) as (string | null)[];
      this.health.set(payer, {
        earned: earned ? Number(earned) : undefined,
        openUntil: Number(openUntil ?? 0),
        probeUntil: Number(probeUntil ?? 0),
        downSince: Number(downSince ?? 0),
      });
    }
    for (let i = 0; i < waitingHere.size; i++) next();
    next();
    this.payersWaiting = (next() ?? []) as string[];
    this.payersRecent = ((next() ?? []) as string[])
      .filter((k) => k.startsWith('payer:'))
      .map((k) => k.slice(6));
    if (localArrivals > 0) {
      next();
      next();
      this.realtimeLocal -= localArrivals;
    }
    const window = (next() ?? []) as (string | null)[];
    this.realtimeWindow = window.reduce((sum, v) => sum + Number(v ?? 0), 0);
    await this.readQueuedPayers();
    // Keys no check of this process uses any more stop being read (thousands of payers over a day).
    for (const [key, c] of this.counts) if (idle(c)) this.counts.delete(key);
    for (const payer of this.health.keys())
      if (!this.counts.has(`payer:${payer}`)) this.health.delete(payer);
    this.options.onChange?.();
  }
}

/** One check's standing with the scheduler: picked (reserved), started, finished. */
export class CheckAdmission {
  private reserved = false;
  private tokens: { kind: HeldKind; id: string; token: string }[] = [];
  private done = false;
  /** This check is its payer's half-open probe. */
  private probing = false;
  private readonly kinds: { kind: HeldKind; id: string }[];

  constructor(
    private readonly scheduler: KeyScheduler,
    readonly keys: CheckKeys,
  ) {
    this.kinds = [
      { kind: 'payer', id: keys.payer },
      { kind: 'tenant', id: keys.tenant },
      ...(keys.npi ? [{ kind: 'npi' as const, id: `${keys.payer}:${keys.npi}` }] : []),
    ];
    for (const k of this.kinds) scheduler.use(k.kind, k.id, 1);
  }

  /**
   * True when the check may be given a slot now. `contended: false` leaves out the cap that other
   * payers' waiting checks impose: whether a waiting check could run under its own limits, which
   * is what makes it contention (asking it with the cap would recurse between waiting payers).
   */
  mayStart(contended = true): boolean {
    return this.heldBackBy(contended) === undefined;
  }

  /**
   * True when the check waits for a slot it could use under its own limits: that is what makes it
   * contention for other payers. A check already picked waits for nothing.
   */
  waitsToStart(): boolean {
    return !this.reserved && this.mayStart(false);
  }

  /** What holds the check back now, if anything. A check already picked is not held back. */
  heldBackBy(contended = true): HeldBack | undefined {
    if (this.done) return 'released';
    if (this.keys.pool === 'realtime' || this.reserved) return undefined;
    const s = this.scheduler;
    const limits = s.options.limits();
    const { payer, tenant } = this.keys;
    const view = s.breaker(payer);
    if (view.state === 'open') return 'breaker-open';
    const health = s.payerHealth(payer);
    if (view.state === 'half-open' && (health?.probeUntil ?? 0) > s.nowMs()) return 'probe';
    // Earned concurrency and the cap protect other payers' waiting checks: a payer with nobody
    // waiting behind it uses whatever is free (its health is still learned meanwhile).
    const earned = Math.floor(health?.earned ?? s.options.rules.initialConcurrency);
    // Alone, a payer has no limit of its own: waiting for a slot of a full allocation is the
    // semaphore's business. Beside other payers it runs at the concurrency its answers earned,
    // and at most its cap while another payer's checks wait below theirs.
    let limit = Infinity;
    if (!contended) limit = earned;
    else if (s.othersActive(payer)) {
      limit = earned;
      if (s.othersWaiting(payer)) limit = Math.min(earned, payerCap(limits, payer));
    }
    if (view.state === 'half-open') limit = 1;
    if (s.count('payer', payer) >= limit) return view.state === 'half-open' ? 'probe' : 'payer';
    const max = tenantLimit(limits, tenant).maxConcurrency;
    if (max !== undefined && s.count('tenant', tenant) >= max) return 'tenant';
    const npiCap = limits.payers.npiCap;
    if (this.keys.npi && npiCap > 0 && s.count('npi', `${payer}:${this.keys.npi}`) >= npiCap)
      return 'npi';
    return undefined;
  }

  /** Counts the check against its keys at once (the semaphore picked it); returns an undo. */
  reserve(): () => void {
    if (!this.reserved && !this.done) {
      this.reserved = true;
      for (const k of this.kinds) this.scheduler.adjust(k.kind, k.id, 'pending', 1);
    }
    return () => this.unreserve();
  }

  /** Marks the check as waiting for a slot (it then counts as contention for other payers). */
  setWaiting(waiting: boolean): void {
    this.scheduler.setWaiting(this, waiting && !this.done);
  }

  /**
   * Takes the check's tokens before its call, checking its limits against every worker at once
   * (and taking a half-open breaker's single probe). False: a limit refuses now, the check must
   * give its slot back and wait; `unpick()` lets it be picked again.
   */
  async started(): Promise<boolean> {
    const s = this.scheduler;
    const limits = s.options.limits();
    const { payer, tenant, npi, pool } = this.keys;
    const token = s.newToken();
    const npiId = `${payer}:${npi ?? ''}`;
    const taken = await holdTokens(s.options.redis, {
      keys: {
        payerHash: s.keys.payer(payer),
        payer: s.keys.held('payer', payer),
        tenant: s.keys.held('tenant', tenant),
        npi: s.keys.held('npi', npiId),
        active: s.keys.active,
        queued: s.options.queue?.prioritized ?? `${s.keys.prefix}:sched:none`,
      },
      jobPrefix: s.options.queue?.jobPrefix ?? `${s.keys.prefix}:sched:none:`,
      // The script looks at the queue head itself, and only for a payer at its contended limit
      // that this worker does not know to be contended: the worker's own look is up to a second
      // old, and one taken just before another payer's run was enqueued let a capped payer fill
      // every lane (a flaky head-of-line test showed SLOW at 4 with its cap at 1).
      queueHead: QUEUE_HEAD,
      tenantLimits: limitedTenants(limits),
      schedPrefix: `${s.keys.prefix}:sched:`,
      payer,
      tenant,
      hasNpi: npi !== undefined,
      pool,
      token,
      now: s.nowMs(),
      ttlMs: s.options.tokenTtlMs,
      initialConcurrency: s.options.rules.initialConcurrency,
      contended: s.othersWaiting(payer),
      othersActive: s.othersActive(payer),
      cap: payerCap(limits, payer),
      tenantMax: tenantLimit(limits, tenant).maxConcurrency ?? 0,
      npiCap: limits.payers.npiCap,
    });
    if (taken === 'refused') return false;
    if (typeof taken === 'object') {
      s.noteQueued(taken.contendedBy);
      return false;
    }
    // The tokens are in Redis now: the pick becomes a token write a refresh may already see.
    this.unreserve();
    for (const k of this.kinds) s.adjust(k.kind, k.id, 'delta', 1);
    this.tokens = this.kinds.map((k) => ({ ...k, token }));
    this.probing = taken === 'probe';
    return true;
  }

  /** Undoes a pick whose tokens were refused, so the check can be picked again later. */
  unpick(): void {
    this.unreserve();
  }

  /** The call ended: drops the tokens and records what the answer says about the payer. */
  async finished(signal: PayerSignal | undefined): Promise<void> {
    const removing = this.release();
    const s = this.scheduler;
    // A slow payer costs others only while they have work: otherwise its answers earn as usual.
    if (signal === 'slow' && !s.othersActive(this.keys.payer)) signal = 'ok';
    // A probe that learned nothing (429, 4xx) must free the probe, or the payer waits a bound.
    const probeLeft = this.probing && !signal;
    this.probing = false;
    // record() reports a change of earned concurrency or breaker; nothing else here changes a
    // decision. Its failure is reported, never thrown: Stedi's answer is already in hand.
    await Promise.all([
      removing,
      signal ? s.track(s.record(this.keys.payer, signal)).catch(() => undefined) : undefined,
      probeLeft
        ? s.track(freeProbe(s.options.redis, s.keys.payer(this.keys.payer))).catch(() => undefined)
        : undefined,
    ]);
  }

  /** Drops the reservation and tokens (idempotent); resolves once Redis has them removed. */
  release(): Promise<unknown> {
    if (this.done) return Promise.resolve();
    this.done = true;
    this.unreserve();
    this.scheduler.setWaiting(this, false);
    for (const k of this.kinds) this.scheduler.use(k.kind, k.id, -1);
    const tokens = this.tokens;
    this.tokens = [];
    if (tokens.length === 0) return Promise.resolve();
    for (const t of tokens) this.scheduler.adjust(t.kind, t.id, 'delta', -1);
    const p = this.scheduler.options.redis.pipeline();
    for (const t of tokens) p.zrem(this.scheduler.keys.held(t.kind, t.id), t.token);
    // Callers that give up before the call need not wait; close() still does, and errors are reported.
    return this.scheduler.track(p.exec()).catch(() => undefined);
  }

  private unreserve(): void {
    if (!this.reserved) return;
    this.reserved = false;
    for (const k of this.kinds) this.scheduler.adjust(k.kind, k.id, 'pending', -1);
  }
}

/** The tenants with a concurrency limit, and their limits. */
function limitedTenants(limits: EffectiveLimits): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tenant, t] of Object.entries(limits.tenants))
    // A name with a lone surrogate would reach the script as an escape cjson refuses.
    if (t.maxConcurrency !== undefined && wellFormed(tenant)) out.set(tenant, t.maxConcurrency);
  return out;
}
