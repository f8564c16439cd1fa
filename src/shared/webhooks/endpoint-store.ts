/**
 * Webhook endpoints in Redis, each owned by one API key: URL, events, whether payloads carry the
 * full answer, and the signing secret (sealed with the data cipher, like every secret at rest).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Sealed, ValueCipher } from '../crypto/data-cipher.js';

/** The events an endpoint can subscribe to. */
export const webhookEventTypes = ['check.completed', 'check.failed', 'run.completed'] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];

/** An endpoint as stored, secret excluded. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly owner: string;
  readonly url: string;
  readonly events: readonly WebhookEventType[];
  /** Payloads carry Stedi's full answer (patient data) only when the endpoint asked for it. */
  readonly includeAnswer: boolean;
  readonly createdAt: number;
}

/** Endpoints and their secrets. */
export class WebhookEndpointStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly cipher: ValueCipher,
  ) {}

  /** Stores a new endpoint of `owner`; returns it. */
  async create(
    owner: string,
    spec: { url: string; events: readonly WebhookEventType[]; includeAnswer: boolean },
    secret: string,
  ): Promise<WebhookEndpoint> {
    const endpoint: WebhookEndpoint = {
      id: `we_${randomUUID()}`,
      owner,
      url: spec.url,
      events: [...spec.events],
      includeAnswer: spec.includeAnswer,
      createdAt: Date.now(),
    };
    await this.redis
      .multi()
      .hset(this.key(endpoint.id), {
        owner,
        url: endpoint.url,
        events: endpoint.events.join(','),
        includeAnswer: endpoint.includeAnswer ? '1' : '0',
        createdAt: endpoint.createdAt,
        secret: JSON.stringify(this.cipher.seal(secret)),
      })
      .sadd(this.ownerKey(owner), endpoint.id)
      .exec();
    return endpoint;
  }

  /** One endpoint, if it exists. */
  async get(id: string): Promise<WebhookEndpoint | undefined> {
    return parse(id, await this.redis.hgetall(this.key(id)));
  }

  /** One endpoint with its signing secret, if it exists. */
  async withSecret(id: string): Promise<{ endpoint: WebhookEndpoint; secret: string } | undefined> {
    const h = await this.redis.hgetall(this.key(id));
    const endpoint = parse(id, h);
    if (!endpoint || !h.secret) return undefined;
    return { endpoint, secret: this.cipher.open(JSON.parse(h.secret) as Sealed) as string };
  }

  /** Every endpoint of `owner`. */
  async list(owner: string): Promise<WebhookEndpoint[]> {
    const ids = await this.redis.smembers(this.ownerKey(owner));
    const all = await Promise.all(ids.map((id) => this.get(id)));
    return all
      .filter((e): e is WebhookEndpoint => e !== undefined)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Removes an endpoint; deliveries already queued for it are dropped when they run. */
  async delete(endpoint: WebhookEndpoint): Promise<void> {
    await this.redis
      .multi()
      .del(this.key(endpoint.id))
      .srem(this.ownerKey(endpoint.owner), endpoint.id)
      .exec();
  }

  private key(id: string): string {
    return `${this.prefix}:webhook:endpoint:${id}`;
  }

  private ownerKey(owner: string): string {
    return `${this.prefix}:webhook:owner:${owner}`;
  }
}

function parse(id: string, h: Record<string, string>): WebhookEndpoint | undefined {
  if (!h.owner || !h.url) return undefined;
  return {
    id,
    owner: h.owner,
    url: h.url,
    events: (h.events ?? '').split(',').filter(Boolean) as WebhookEventType[],
    includeAnswer: h.includeAnswer === '1',
    createdAt: Number(h.createdAt),
  };
}
