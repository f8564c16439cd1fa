import { chromium, type Browser } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium, headless, with the flags this closed network needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Expects the page at `pageUrl` and the API at `apiUrl` to refuse (401) a browser without
 * credentials, and one with `username` and a wrong password.
 */
export async function expectLoginRefused(
  browser: Browser,
  pageUrl: string,
  apiUrl: string,
  username: string,
): Promise<void> {
  for (const httpCredentials of [undefined, { username, password: 'wrong' }]) {
    const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
    const page = await context.newPage();
    // Chromium shows the 401, or ends the navigation with this error once a login was refused.
    const outcome = await page.goto(pageUrl).then(
      (r) => String(r?.status()),
      (e: Error) => e.message,
    );
    expect(outcome).toMatch(/^401$|ERR_INVALID_AUTH_CREDENTIALS/);
    expect((await context.request.get(apiUrl)).status()).toBe(401);
    await context.close();
  }
}
