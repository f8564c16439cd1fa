/**
 * Stedi's Batch Eligibility API over HTTP (manager.us.stedi.com): submit a batch, read its status,
 * its items' states, and its completed results, a page at a time. Answers come back unclassified;
 * a call that got no answer rejects with StediTransportError.
 */
import { batchApiPaths } from '../../shared/stedi-api.js';
import type { StediReply } from '../stedi/stedi-client.js';
import { fetchReply } from '../stedi/fetch-reply.js';

/** The calls of Stedi's Batch Eligibility API the batch route makes. */
export interface BatchApiClient {
  /** Submits a batch; the Idempotency-Key lets a resubmission after a crash return the same batch. */
  submit(body: Readonly<Record<string, unknown>>, idempotencyKey: string): Promise<StediReply>;
  status(batchId: string): Promise<StediReply>;
  /** One page of item states, optionally only those in `states`. */
  items(batchId: string, pageToken?: string, states?: readonly string[]): Promise<StediReply>;
  /** One page of completed checks (up to 200). */
  results(batchId: string, pageToken?: string): Promise<StediReply>;
}

/** Options of HttpBatchApiClient. */
export interface HttpBatchApiClientOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** `raw` sends the key as Stedi's docs do; `key` sends `Key <api-key>`. @defaultValue 'raw' */
  readonly authScheme?: 'raw' | 'key';
  /** Longest wait for one answer, in ms. @defaultValue 60000 */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/** The batch API over HTTP. */
export class HttpBatchApiClient implements BatchApiClient {
  private readonly authorization: string;

  constructor(private readonly options: HttpBatchApiClientOptions) {
    this.authorization = options.authScheme === 'key' ? `Key ${options.apiKey}` : options.apiKey;
  }

  submit(body: Readonly<Record<string, unknown>>, idempotencyKey: string): Promise<StediReply> {
    return this.call('POST', batchApiPaths.submit, undefined, body, idempotencyKey);
  }

  status(batchId: string): Promise<StediReply> {
    return this.call('GET', batchApiPaths.status(batchId));
  }

  items(batchId: string, pageToken?: string, states: readonly string[] = []): Promise<StediReply> {
    const query = new URLSearchParams({ pageSize: '1000' });
    if (pageToken) query.set('pageToken', pageToken);
    for (const s of states) query.append('state', s);
    return this.call('GET', batchApiPaths.items(batchId), query);
  }

  results(batchId: string, pageToken?: string): Promise<StediReply> {
    const query = new URLSearchParams({ batchId, pageSize: '200' });
    if (pageToken) query.set('pageToken', pageToken);
    return this.call('GET', batchApiPaths.results, query);
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    query?: URLSearchParams,
    body?: Readonly<Record<string, unknown>>,
    idempotencyKey?: string,
  ): Promise<StediReply> {
    const url = new URL(path, this.options.baseUrl);
    if (query) url.search = query.toString();
    const init = {
      method,
      headers: {
        authorization: this.authorization,
        accept: 'application/json',
        // Pages over 20 results come gzipped; fetch inflates them.
        'accept-encoding': 'gzip',
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    };
    const limitMs = this.options.timeoutMs ?? 60_000;
    return fetchReply(this.options.fetch ?? fetch, url, init, limitMs, `Stedi batch API ${method}`);
  }
}
