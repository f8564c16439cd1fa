import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isNonPublicAddress } from '../../../src/shared/webhooks/url-policy.js';
import { signWebhook, verifyWebhook } from '../../../src/shared/webhooks/signature.js';
import {
  sendWebhook,
  WebhookAddressRefusedError,
} from '../../../src/worker/webhooks/send-webhook.js';

const production = { production: true, allowedHosts: new Set<string>() };

describe('webhook delivery guard', () => {
  it('classifies non-public addresses', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.20.1.1', '192.168.1.1', '169.254.169.254'])
      expect(isNonPublicAddress(a), a).toBe(true);
    for (const a of ['::1', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1', '100.64.0.1'])
      expect(isNonPublicAddress(a), a).toBe(true);
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700::1111'])
      expect(isNonPublicAddress(a), a).toBe(false);
  });

  it('refuses at connection time a name that resolves to a loopback address (DNS rebinding)', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const url = new URL(`http://localhost:${port}/hook`);
      await expect(
        sendWebhook(url, {}, '{}', { timeoutMs: 2_000, policy: production }),
      ).rejects.toBeInstanceOf(WebhookAddressRefusedError);
      // The same name on the allow-list, or outside production, goes through.
      const allowed = { production: true, allowedHosts: new Set(['localhost']) };
      expect(await sendWebhook(url, {}, '{}', { timeoutMs: 2_000, policy: allowed })).toBe(200);
      expect(hits).toBe(1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('signs as Standard Webhooks does (HMAC-SHA256 over id.timestamp.body, key from whsec_ base64)', () => {
    // The example of the Standard Webhooks reference implementations' tests.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sig = signWebhook(
      secret,
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(
      verifyWebhook(
        secret,
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
        `v1,bad ${sig}`,
      ),
    ).toBe(true);
  });
});
