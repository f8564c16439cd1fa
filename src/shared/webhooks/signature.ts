/**
 * Standard Webhooks signatures (standardwebhooks.com): secrets are `whsec_` + base64 of random
 * bytes; a message is signed as HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>` with
 * the secret's bytes, sent as `webhook-signature: v1,<base64>`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new endpoint secret. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The `webhook-signature` value of one message. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** Whether any `v1,` signature in `header` (space-separated) is the message's. */
export function verifyWebhook(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
  header: string,
): boolean {
  const expected = Buffer.from(signWebhook(secret, id, timestamp, body));
  return header.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
