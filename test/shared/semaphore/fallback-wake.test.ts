/**
 * A slot freed without a release hint (a lost pub/sub message, `semaphore force-release`) is found
 * by the fallback check within about fallbackCheckMs, even while the worker's scheduler calls
 * recheck() every 200 ms: rechecks may bring the wake earlier, never postpone it.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

const timing = {
  stediTimeoutMs: 5_000,
  skewMarginMs: 100,
  fallbackCheckMs: 400,
  leaseMs: 3_000,
};

let env: SemaphoreEnv;
beforeEach(async () => {
  env = await semaphoreEnv();
});
afterEach(async () => {
  await env.close();
});

async function timeToGrant(withRecheck: boolean): Promise<number> {
  // No hints: stands for a lost release hint (pub/sub is at-most-once; reconnects drop messages).
  const holder = env.make({ capacity: 1, hints: false, ...timing });
  const waiterSide = env.make({ capacity: 1, hints: false, ...timing });
  const held = await holder.acquire({ pool: 'batch', markCallStart: true });
  const rechecks = withRecheck ? setInterval(() => waiterSide.recheck(), 200) : undefined;
  const p = waiterSide.acquire({ pool: 'batch' });
  // waiterSide has read the view (slot 0 in a call) and, without rechecks, re-read it a few times.
  await new Promise((r) => setTimeout(r, 1_500));
  await held.release();
  const t = Date.now();
  const lease = await p;
  const waited = Date.now() - t;
  clearInterval(rechecks);
  await lease.release();
  return waited;
}

it('control: without rechecks, the fallback check finds the freed slot within ~fallbackCheckMs', async () => {
  expect(await timeToGrant(false)).toBeLessThan(1_000);
});

it('still fires with the worker-style recheck every 200 ms', async () => {
  const waited = await timeToGrant(true);
  // Not postponed to the cached record's call bound (cover 1.5 s + Stedi 5 s + skew).
  expect(waited).toBeLessThan(2_000);
}, 20_000);
