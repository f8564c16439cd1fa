/**
 * SameJobRuns: a run of a job (a zombie whose lock was lost) never ends while a newer run of the
 * same job goes on in this process, because BullMQ stops renewing a job id's lock when a run of
 * it ends. Runs of other jobs are not held up.
 */
import { expect, it } from 'vitest';
import { SameJobRuns } from '../../src/worker/same-job-runs.js';

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const settledNow = async (p: Promise<unknown>) => {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((r) => setTimeout(r, 10));
  return settled;
};

it('ends an older run of a job only after the newer runs of it have ended', async () => {
  const runs = new SameJobRuns();
  const [a, b, c] = [gate(), gate(), gate()];
  const old = runs.run('rt_1', async () => {
    await a.opened;
    throw new Error('lock lost');
  });
  const newer = runs.run('rt_1', () => b.opened.then(() => 'done'));
  a.open();
  expect(await settledNow(old)).toBe(false);
  // A third run starting while the first waits is waited for too.
  const newest = runs.run('rt_1', () => c.opened.then(() => 'done'));
  b.open();
  expect(await settledNow(newer)).toBe(false);
  expect(await settledNow(old)).toBe(false);
  c.open();
  expect(await newer).toBe('done');
  await expect(old).rejects.toThrow('lock lost');
  expect(await newest).toBe('done');
});

it('does not hold up runs of other jobs', async () => {
  const runs = new SameJobRuns();
  const other = gate();
  void runs.run('rt_2', () => other.opened);
  expect(await runs.run('rt_3', async () => 'done')).toBe('done');
  other.open();
});
