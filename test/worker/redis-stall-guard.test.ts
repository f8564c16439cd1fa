/**
 * The stall guard's states, step by step with fake timers: a PING that Redis does not answer in
 * time is a stall, and stalled-job checks wait until Redis answers again and the grace has passed.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RedisStallGuard } from '../../src/worker/redis-stall-guard.js';

/** A PING that answers at once, or never until released. */
class Ping {
  hung = false;
  private release: (() => void)[] = [];
  ping = (): Promise<'PONG'> =>
    this.hung
      ? new Promise((resolve) => this.release.push(() => resolve('PONG')))
      : Promise.resolve('PONG');
  resume(): void {
    this.hung = false;
    for (const r of this.release.splice(0)) r();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('refuses stalled checks while Redis is stalled and for the grace after, then allows them', async () => {
  const redis = new Ping();
  const ended: number[] = [];
  const guard = new RedisStallGuard(redis, {
    pingTimeoutMs: 100,
    probeEveryMs: 250,
    graceMs: 1_000,
    now: () => Date.now(),
    onStallEnded: (ms) => ended.push(ms),
  });
  expect(await guard.allowsStalledCheck()).toBe(true);

  redis.hung = true;
  const refused = guard.allowsStalledCheck();
  await vi.advanceTimersByTimeAsync(100);
  expect(await refused).toBe(false);
  expect(guard.stalled).toBe(true);
  // Known stalled: refused at once, nothing more sent.
  expect(await guard.allowsStalledCheck()).toBe(false);

  await vi.advanceTimersByTimeAsync(5_000);
  redis.resume();
  // The first PING answered in time ends the stall; the grace counts from there.
  expect(await guard.probe()).toBe(true);
  expect(ended).toHaveLength(1);
  expect(ended[0]).toBeGreaterThanOrEqual(5_000);
  expect(await guard.allowsStalledCheck()).toBe(false);
  await vi.advanceTimersByTimeAsync(999);
  expect(await guard.allowsStalledCheck()).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  expect(await guard.allowsStalledCheck()).toBe(true);
  await guard.close();
});

it('finds a stall by itself in the background, and its end', async () => {
  const redis = new Ping();
  let stalls = 0;
  const ends: number[] = [];
  const guard = new RedisStallGuard(redis, {
    pingTimeoutMs: 100,
    probeEveryMs: 250,
    graceMs: 1_000,
    onStall: () => stalls++,
    onStallEnded: (ms) => ends.push(ms),
  });
  guard.start();
  redis.hung = true;
  await vi.advanceTimersByTimeAsync(400);
  expect(stalls).toBe(1);
  await vi.advanceTimersByTimeAsync(2_000);
  expect(stalls).toBe(1);
  redis.resume();
  await vi.advanceTimersByTimeAsync(400);
  expect(ends).toHaveLength(1);
  expect(guard.stalled).toBe(false);
  await guard.close();
});
