/**
 * One HTTP POST of a webhook message. The address the request connects to is checked against the
 * URL policy at connection time (in the DNS lookup), so a name that resolves to a private address
 * at delivery time is refused even if it resolved elsewhere at registration. Redirects are not
 * followed (a redirect to an internal address is the classic way around such a check).
 */
import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { addressProblem, hostOf, type WebhookUrlPolicy } from '../../shared/webhooks/url-policy.js';

/** A delivery refused by the URL policy: not retried. */
export class WebhookAddressRefusedError extends Error {
  override readonly name = 'WebhookAddressRefusedError';
}

/** POSTs `body` to `url`; resolves with the receiver's status, rejects on no answer. */
export function sendWebhook(
  url: URL,
  headers: Record<string, string>,
  body: string,
  opts: { timeoutMs: number; policy: WebhookUrlPolicy },
): Promise<number> {
  const host = hostOf(url);
  if (isIP(host) !== 0) {
    const problem = addressProblem(host, host, opts.policy);
    if (problem) return Promise.reject(new WebhookAddressRefusedError(problem));
  }
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        lookup: (hostname, options, callback) => {
          lookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
            if (err) return callback(err, '', 0);
            const refused = addresses
              .map((a) => addressProblem(host, a.address, opts.policy))
              .find(Boolean);
            if (refused) return callback(new WebhookAddressRefusedError(refused), '', 0);
            if ((options as { all?: boolean }).all)
              return (callback as unknown as (e: null, a: LookupAddress[]) => void)(
                null,
                addresses,
              );
            const first = addresses[0];
            if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
            callback(null, first.address, first.family);
          });
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
