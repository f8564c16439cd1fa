/**
 * /admin/status in a real browser (Debian's Chromium driven by playwright-core) during a real run:
 * refused without Bull Board credentials; with them, the slots in use match GET /v1/concurrency,
 * each with its pool, payer and tenant, and the page refreshes by itself. No patient value shows.
 * The screenshot goes to test-artifacts/ (the README's copy is docs/status-page.png).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { expectLoginRefused, launchChromium } from '../support/browser.js';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname;
const patient = { memberId: 'STATUSMBR771', firstName: 'Statusfirst', lastName: 'Statuslast' };
let w: WorkerEnv;
let p: ProducerEnv;
let browser: Browser;

interface Concurrency {
  holders: { slot: number; pool: string }[];
}

async function concurrency(): Promise<Concurrency> {
  return (await (await p.call('/v1/concurrency')).json()) as Concurrency;
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  // Calls of 20 s: the three slots stay in their calls for the whole test. No realtime reserve
  // (once a realtime check has arrived, lending keeps a slot idle for the next one) and no payer
  // cap, so scheduling holds none of the batch checks back from a free slot.
  w = await workerEnv(
    {
      STEDI_CONCURRENCY: '3',
      STEDI_REALTIME_RESERVED: '0',
      PAYER_CAP: '3',
      PAYER_INITIAL_CONCURRENCY: '3',
      WORKER_SHUTDOWN_TIMEOUT_MS: '200',
    },
    { concurrency: 3, latency: { medianMs: 20_000, sigma: 0, maxMs: 30_000 } },
  );
  p = await producerEnv({
    ...w.deployment,
    STEDI_CONCURRENCY: '3',
    STEDI_REALTIME_RESERVED: '0',
    PAYER_CAP: '3',
    BULL_BOARD_USERS: 'admin:admin-secret:admin,viewer:viewer-secret:read',
  });
  await w.startWorker();
  const request = (member: string, payer: string) => ({
    ...checkRequest(member, payer),
    subscriber: { ...patient, memberId: member, dateOfBirth: '19700101' },
  });
  const submit = async (body: unknown, path: string) => {
    const res = await p.call(path, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(202);
  };
  await submit(
    { priority: 'realtime', request: request(patient.memberId, '87726') },
    '/v1/eligibility',
  );
  await submit(
    { items: [request(`${patient.memberId}B`, '60054'), request(`${patient.memberId}C`, '62308')] },
    '/v1/eligibility/batch',
  );
  // Queued behind the three calls: shows as waiting.
  await submit({ items: [request(`${patient.memberId}D`, 'OSCAR')] }, '/v1/eligibility/batch');
  const deadline = Date.now() + 20_000;
  while ((await concurrency()).holders.length < 3) {
    if (Date.now() > deadline) throw new Error('the three calls did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
  await w?.close();
});

describe('status page in Chromium', () => {
  it('is refused without credentials, or with a wrong password', async () => {
    await expectLoginRefused(
      browser,
      `${p.url}/admin/status`,
      `${p.url}/admin/status/data`,
      'viewer',
    );
    // API keys are not Bull Board users.
    expect((await p.call('/admin/status/data')).status).toBe(401);
  });

  it('shows the slots in use as GET /v1/concurrency does, with pool, payer and tenant, and refreshes', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'viewer', password: 'viewer-secret' },
    });
    const page = await context.newPage();
    const res = await page.goto(`${p.url}/admin/status`);
    expect(res?.status()).toBe(200);
    const inCall = page.locator('#slots tbody tr[data-state="in call"]');
    await expect.poll(() => inCall.count(), { timeout: 15_000 }).toBe(3);

    const shown = await Promise.all(
      (await inCall.all()).map(async (row) => ({
        slot: Number(await row.getAttribute('data-slot')),
        pool: (await row.getAttribute('data-pool')) ?? '',
        cells: await row.locator('td').allTextContents(),
      })),
    );
    const api = await concurrency();
    const bySlot = (a: { slot: number }, b: { slot: number }) => a.slot - b.slot;
    expect(shown.map(({ slot, pool }) => ({ slot, pool })).sort(bySlot)).toEqual(
      api.holders.map(({ slot, pool }) => ({ slot, pool })).sort(bySlot),
    );
    const payers = shown.map((s) => s.cells[4]).sort();
    expect(payers).toEqual(['60054', '62308', '87726']);
    for (const s of shown) {
      expect(s.cells[5]).toBe('local'); // the API key that submitted it
      expect(s.cells[6]).toMatch(/^(rt|bt)_/);
      expect(s.cells[7]).toMatch(/\d+(\.\d)? (ms|s)$/); // call age
    }
    expect(shown.find((s) => s.cells[4] === '87726')?.pool).toBe('realtime');

    // The fourth check waits for a slot in a worker lane (active), not in the queue.
    const batchRow = page.locator('#queues tbody tr[data-priority="batch"] td');
    await expect
      .poll(async () => (await batchRow.allTextContents()).slice(1, 4))
      .toEqual(['0', '0', '3']);
    await expect.poll(() => page.locator('#tenants tbody tr[data-tenant="local"]').count()).toBe(1);
    await expect.poll(() => page.locator('#payers tbody tr').count()).toBe(3);

    // Refreshes by itself: the call ages grow without a reload.
    // In seconds; the page shows ages under a second in ms ("850 ms"), which read as NaN before.
    const age = async () => {
      const text = await page
        .locator('#slots tbody tr[data-state="in call"] td')
        .nth(7)
        .textContent();
      const match = /^([\d.]+) (ms|s)$/.exec(text ?? '');
      if (!match) throw new Error(`call age not shown as a duration: ${text}`);
      return Number(match[1]) / (match[2] === 'ms' ? 1000 : 1);
    };
    const first = await age();
    await expect.poll(age, { timeout: 10_000 }).toBeGreaterThan(first + 1);

    const text = await page.locator('body').innerText();
    for (const value of Object.values(patient)) expect(text).not.toContain(value);
    await page.screenshot({ path: `${artifacts}status-page.png`, fullPage: true });
    await context.close();
  });
});
