/**
 * StediClient over HTTP (node:http(s), whose global agent keeps connections alive). It never
 * aborts a call before Stedi's own bound: cancelling would not free Stedi's slot, it would only
 * lose the answer.
 */
import { eligibilityPaths, type EligibilityEndpoint } from '../../shared/stedi-api.js';
import type { CheckOptions, StediClient, StediReply } from './stedi-client.js';
import { postGuarded } from './guarded-post.js';

/** Options of HttpStediClient; durations in ms. */
export interface HttpStediClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** `raw` sends the key as Stedi's docs do; `key` sends `Key <api-key>`. @defaultValue 'raw' */
  readonly authScheme?: 'raw' | 'key';
  /** The real-time endpoint to call. @defaultValue 'v3' */
  readonly endpoint?: EligibilityEndpoint;
  /** Stedi's bound; the call is given up only after this plus `graceMs`. */
  readonly timeoutMs: number;
  /** @defaultValue 5000 */
  readonly graceMs?: number;
}

/** Calls one of Stedi's real-time endpoints. */
export class HttpStediClient implements StediClient {
  readonly endpoint: EligibilityEndpoint;
  private readonly url: URL;
  private readonly authorization: string;

  constructor(private readonly options: HttpStediClientOptions) {
    this.endpoint = options.endpoint ?? 'v3';
    this.url = new URL(eligibilityPaths[this.endpoint], options.baseUrl);
    this.authorization = options.authScheme === 'key' ? `Key ${options.apiKey}` : options.apiKey;
  }

  async check(
    request: Readonly<Record<string, unknown>>,
    options: CheckOptions = {},
  ): Promise<StediReply> {
    return postGuarded({
      url: this.url,
      headers: {
        authorization: this.authorization,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(request),
      limitMs: this.options.timeoutMs + (this.options.graceMs ?? 5_000),
      what: 'Stedi call',
      ...(options.beforeSend ? { beforeSend: options.beforeSend } : {}),
    });
  }
}
