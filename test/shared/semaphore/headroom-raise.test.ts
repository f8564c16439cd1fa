/**
 * Raising the headroom takes slots back from batch as its calls finish, as realtime's refills do:
 * a backlog must not keep every slot (the first front-desk morning after a night batch run).
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { semaphoreEnv, type SemaphoreEnv } from '../../support/semaphore-env.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let env: SemaphoreEnv;
beforeEach(async () => {
  env = await semaphoreEnv();
});
afterEach(async () => {
  await env.close();
});

it('gives slots back as calls finish after the headroom is raised to 2', async () => {
  const sem = env.make({
    capacity: 4,
    stediTimeoutMs: 1_500,
    skewMarginMs: 100,
    fallbackCheckMs: 300,
  });
  let stop = false;
  const lane = async () => {
    while (!stop) {
      const l = await sem.acquire({ pool: 'batch', markCallStart: true });
      await sleep(80 + Math.random() * 40);
      await l.release();
    }
  };
  const lanes = Array.from({ length: 6 }, lane);
  await sleep(500);
  expect(sem.heldSlots().length).toBe(4);
  sem.setHeadroom(2);
  await sleep(300); // several calls have finished since (each ~100 ms)
  let mostIdle = 0;
  for (let i = 0; i < 20; i++) {
    mostIdle = Math.max(mostIdle, 4 - sem.heldSlots().length);
    await sleep(50);
  }
  stop = true;
  await Promise.allSettled(lanes);
  // Batch gives back borrowed slots as its calls finish, until the headroom is idle.
  expect(mostIdle).toBeGreaterThanOrEqual(2);
}, 20_000);
