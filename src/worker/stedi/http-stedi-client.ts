/**
 * StediClient over HTTP (Node's fetch, whose global agent keeps connections alive). It never
 * aborts a call before Stedi's own bound: cancelling would not free Stedi's slot, it would only
 * lose the answer.
 */
import { eligibilityPaths, type EligibilityEndpoint } from '../../shared/stedi-api.js';
import type { StediClient, StediReply } from './stedi-client.js';
import { fetchReply } from './fetch-reply.js';

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
  readonly fetch?: typeof fetch;
}

/** Calls one of Stedi's real-time endpoints. */
export class HttpStediClient implements StediClient {
  readonly endpoint: EligibilityEndpoint;
  private readonly url: string;
  private readonly authorization: string;

  constructor(private readonly options: HttpStediClientOptions) {
    this.endpoint = options.endpoint ?? 'v3';
    this.url = new URL(eligibilityPaths[this.endpoint], options.baseUrl).toString();
    this.authorization = options.authScheme === 'key' ? `Key ${options.apiKey}` : options.apiKey;
  }

  async check(request: Readonly<Record<string, unknown>>): Promise<StediReply> {
    const init = {
      method: 'POST',
      headers: {
        authorization: this.authorization,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify(request),
    };
    const limitMs = this.options.timeoutMs + (this.options.graceMs ?? 5_000);
    return fetchReply(this.options.fetch ?? fetch, this.url, init, limitMs, 'Stedi call');
  }
}
