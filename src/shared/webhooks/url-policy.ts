/**
 * Which webhook URLs may be called (SSRF). In production a URL must be https and its host must
 * not be, or resolve to, a private, loopback, link-local, shared, multicast or reserved address;
 * hosts on the allow-list (WEBHOOK_ALLOWED_HOSTS, for local development and tests) are exempt.
 * Registration checks the URL; every delivery checks the address it actually connects to (a
 * name can resolve elsewhere later: DNS rebinding).
 */
import { BlockList, isIP } from 'node:net';

/** What a webhook URL is checked against. */
export interface WebhookUrlPolicy {
  /** Refuse plain http and non-public addresses (NODE_ENV=production). */
  readonly production: boolean;
  /** Host names or literal addresses exempt from both rules, lower case. */
  readonly allowedHosts: ReadonlySet<string>;
}

const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
  ['2001:db8::', 32],
] as const)
  blocked.addSubnet(net, bits, 'ipv6');

/** Whether `address` (a literal IPv4 or IPv6 address) is not a public unicast address. */
export function isNonPublicAddress(address: string): boolean {
  const v4mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (v4mapped?.[1]) return blocked.check(v4mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The host of a URL without IPv6 brackets, lower case. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Why `raw` may not be a webhook URL, or undefined when it may. */
export function webhookUrlProblem(raw: string, policy: WebhookUrlPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  if (url.username || url.password) return 'must not carry credentials';
  const host = hostOf(url);
  if (!policy.production || policy.allowedHosts.has(host)) return undefined;
  if (url.protocol !== 'https:') return 'must be an https URL in production';
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal'))
    return 'must not name a local or internal host';
  if (isIP(host) !== 0 && isNonPublicAddress(host))
    return 'must not point to a private, loopback or link-local address';
  return undefined;
}

/** Why a delivery to `host` may not connect to `address`, or undefined when it may. */
export function addressProblem(
  host: string,
  address: string,
  policy: WebhookUrlPolicy,
): string | undefined {
  if (!policy.production || policy.allowedHosts.has(host.toLowerCase())) return undefined;
  return isNonPublicAddress(address)
    ? `${host} resolves to a private, loopback or link-local address`
    : undefined;
}
