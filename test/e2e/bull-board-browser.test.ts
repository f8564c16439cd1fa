/**
 * Bull Board in a real browser (Debian's Chromium driven by playwright-core): refused without
 * credentials; with them, both queues and their counts, and a failed check with its retries.
 * Screenshots go to test-artifacts/.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { loadMockCatalog } from '../../src/simulator/mock-catalog.js';
import type { EligibilityRequest } from '../../src/shared/schemas/eligibility-request.js';
import { expectLoginRefused, launchChromium } from '../support/browser.js';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

const artifacts = new URL('../../test-artifacts/', import.meta.url).pathname;
let w: WorkerEnv;
let p: ProducerEnv;
let browser: Browser;
let failedId = '';

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  w = await workerEnv(
    {
      STEDI_CONCURRENCY: '2',
      STEDI_REALTIME_RESERVED: '1',
      REALTIME_ATTEMPTS: '3',
      REALTIME_BACKOFF_MS: '50',
    },
    { concurrency: 2, latency: { medianMs: 20, sigma: 0, maxMs: 1_000 } },
  );
  p = await producerEnv({
    ...w.deployment,
    BULL_BOARD_USERS: 'admin:admin-secret:admin,viewer:viewer-secret:read',
  });
  await w.startWorker();
  const aaa42 = loadMockCatalog().find((m) => m.id === 'aaa-42')
    ?.request as unknown as EligibilityRequest;
  const failed = await p.queues.add('realtime', aaa42);
  failedId = failed.id ?? '';
  const done = await p.queues.addBulk('batch', [checkRequest('BB1'), checkRequest('BB2')]);
  for (const job of [failed, ...done]) await w.waitFor(job);
  await p.queues.addBulk('batch', [checkRequest('BB3')]);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await p?.close();
  await w?.close();
});

describe('Bull Board in Chromium', () => {
  it('is refused without credentials, or with a wrong password', async () => {
    await expectLoginRefused(
      browser,
      `${p.url}/admin/queues`,
      `${p.url}/admin/queues/api/queues`,
      'admin',
    );
  });

  it('shows both queues with their counts to an admin', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: 'admin-secret' },
    });
    const page = await context.newPage();
    const res = await page.goto(`${p.url}/admin/queues/queue/eligibility-realtime`);
    expect(res?.status()).toBe(200);
    await page.getByText('eligibility-batch').first().waitFor({ timeout: 15_000 });
    await page
      .getByText(/failed/i)
      .first()
      .waitFor({ timeout: 15_000 });
    await page.screenshot({ path: `${artifacts}bull-board-realtime.png`, fullPage: true });
    const realtime = await page.locator('body').innerText();
    expect(realtime).toMatch(/failed\s*1/i);
    await page.goto(`${p.url}/admin/queues/queue/eligibility-batch`);
    await page
      .getByText(/completed/i)
      .first()
      .waitFor({ timeout: 15_000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: `${artifacts}bull-board-batch.png`, fullPage: true });
    const batch = await page.locator('body').innerText();
    expect(batch).toMatch(/completed\s*3/i);
    await context.close();
  });

  it('opens the failed check with its attempts and reason, patient data redacted', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'viewer', password: 'viewer-secret' },
    });
    const page = await context.newPage();
    await page.goto(`${p.url}/admin/queues/queue/eligibility-realtime/${failedId}`);
    await page.getByText('AAA 42').first().waitFor({ timeout: 15_000 });
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/attempt/i);
    expect(text).not.toContain('UHCAAA42');
    await page.screenshot({ path: `${artifacts}bull-board-failed-check.png`, fullPage: true });
    await context.close();
  });
});
