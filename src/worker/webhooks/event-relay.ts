/**
 * Turns finished checks into webhook deliveries. It reads the check queues' BullMQ event streams
 * through a Redis consumer group ("webhooks"), so each event goes to one worker process, and
 * acknowledges an event only once its deliveries are queued: a process that dies first leaves it
 * pending, and another claims it after RELAY_CLAIM_IDLE_MS. Deliveries have job ids made of the
 * endpoint and message, so an event relayed twice is still delivered once.
 *
 * Events: check.completed and check.failed (BullMQ's final `completed` and `failed`; a failed
 * attempt that will be retried is not one), and run.completed when the check that finished was
 * its run's last unfinished one.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CheckJobData, CheckJobResult } from '../../shared/check-job.js';
import { runIdOfCheck } from '../../shared/check-queues.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import type { RunStore } from '../../shared/runs/run-store.js';
import type { WebhookDeliveries } from '../../shared/webhooks/deliveries.js';
import type {
  WebhookEndpoint,
  WebhookEndpointStore,
  WebhookEventType,
} from '../../shared/webhooks/endpoint-store.js';
import type { Queue } from 'bullmq';

const GROUP = 'webhooks';
const eventsKey = (q: Queue): string => q.keys.events ?? q.toKey('events');
/** How long an event may stay unacknowledged by a consumer before another takes it over (ms). */
export const RELAY_CLAIM_IDLE_MS = 30_000;

/** What the relay needs. */
export interface EventRelayDeps {
  /** A connection of its own: the relay blocks on it. */
  readonly blocking: Redis;
  /** Every queue whose checks raise events: both priorities and the routed checks. */
  readonly queues: readonly Queue<CheckJobData, CheckJobResult>[];
  readonly runs: RunStore;
  readonly endpoints: WebhookEndpointStore;
  readonly deliveries: WebhookDeliveries;
  readonly cipher: ValueCipher;
  readonly logger: Logger;
  readonly blockMs?: number;
}

/** The relay loop; close() ends it and waits for the batch in hand. */
export class EventRelay {
  private readonly consumer = `relay-${randomUUID()}`;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private lastClaim = 0;

  constructor(private readonly deps: EventRelayDeps) {}

  private get streams(): string[] {
    return this.deps.queues.map(eventsKey);
  }

  /** Creates the consumer group (from now on) and starts reading. */
  async start(): Promise<void> {
    for (const stream of this.streams) {
      try {
        await this.deps.blocking.xgroup('CREATE', stream, GROUP, '$', 'MKSTREAM');
      } catch (err) {
        if (!(err as Error).message.includes('BUSYGROUP')) throw err;
      }
    }
    this.loop = this.run();
  }

  /** Reads and relays one round: claimed stale events, then new ones. Exposed for tests. */
  async runOnce(): Promise<void> {
    const r = this.deps.blocking;
    if (Date.now() - this.lastClaim > RELAY_CLAIM_IDLE_MS / 3) {
      this.lastClaim = Date.now();
      for (const stream of this.streams) {
        const claimed = (await r.xautoclaim(
          stream,
          GROUP,
          this.consumer,
          RELAY_CLAIM_IDLE_MS,
          '0-0',
          'COUNT',
          100,
        )) as [string, [string, string[]][]];
        await this.handle(stream, claimed[1] ?? []);
      }
    }
    const streams = this.streams;
    const read = (await r.xreadgroup(
      'GROUP',
      GROUP,
      this.consumer,
      'COUNT',
      100,
      'BLOCK',
      this.deps.blockMs ?? 1_000,
      'STREAMS',
      ...streams,
      ...streams.map(() => '>'),
    )) as [string, [string, string[]][]][] | null;
    for (const [stream, entries] of read ?? []) await this.handle(stream, entries);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.deps.blocking.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.runOnce();
      } catch (err) {
        if (this.stopped) return;
        this.deps.logger.error({ err: (err as Error).message }, 'webhook event relay failed');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private async handle(stream: string, entries: [string, string[]][]): Promise<void> {
    // BullMQ writes several events per check, most of no interest here: the events handled are
    // acknowledged in one XACK, also when a later one fails.
    const handled: string[] = [];
    try {
      for (const [id, fields] of entries) {
        if (!fields) continue; // deleted by trimming while pending
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] ?? '', fields[i + 1] ?? '');
        const event = f.get('event');
        const jobId = f.get('jobId');
        if ((event === 'completed' || event === 'failed') && jobId)
          await this.relayCheck(stream, jobId);
        handled.push(id);
      }
    } finally {
      if (handled.length > 0) await this.deps.blocking.xack(stream, GROUP, ...handled);
    }
  }

  private async relayCheck(stream: string, checkId: string): Promise<void> {
    const queue = this.deps.queues.find((q) => eventsKey(q) === stream);
    const job = await queue?.getJob(checkId);
    const owner = job?.data.submittedBy;
    if (!job || !owner) return;
    const state = await job.getState();
    if (state !== 'completed' && state !== 'failed') return;
    const runId = runIdOfCheck(checkId);
    const endpoints = await this.deps.endpoints.list(owner);
    const type: WebhookEventType = state === 'completed' ? 'check.completed' : 'check.failed';
    const summary = job.returnvalue?.summary
      ? this.deps.cipher.open(job.returnvalue.summary)
      : undefined;
    for (const e of subscribed(endpoints, type)) {
      const data = {
        checkId,
        ...(runId ? { runId } : {}),
        status: state,
        priority: job.data.priority,
        attempts: job.attemptsMade,
        aaaCodes: job.returnvalue?.aaaCodes ?? [],
        ...(state === 'failed' && job.failedReason ? { failureReason: job.failedReason } : {}),
        ...(summary ? { summary } : {}),
        ...(e.includeAnswer && job.returnvalue?.response
          ? { answer: this.deps.cipher.open(job.returnvalue.response) }
          : {}),
      };
      await this.deliver(e, type, checkId, data, job.finishedOn);
    }
    if (runId) await this.relayRun(runId, owner, endpoints);
  }

  private async relayRun(runId: string, owner: string, endpoints: WebhookEndpoint[]) {
    const targets = subscribed(endpoints, 'run.completed');
    if (targets.length === 0) return;
    const run = await this.deps.runs.get(runId);
    if (!run || run.owner !== owner) return;
    const { counts, lastFinishedAt } = await this.deps.runs.progress(run);
    if (counts.waiting + counts.active + counts.delayed > 0) return;
    const data = {
      runId,
      status: run.cancelledAt ? 'cancelled' : 'completed',
      total: run.size,
      counts,
    };
    for (const e of targets) await this.deliver(e, 'run.completed', runId, data, lastFinishedAt);
  }

  private async deliver(
    endpoint: WebhookEndpoint,
    type: WebhookEventType,
    subject: string,
    data: Record<string, unknown>,
    at: number | undefined,
  ): Promise<void> {
    const messageId = `msg_${type.replace('.', '_')}_${subject}`;
    const body = JSON.stringify({
      type,
      timestamp: new Date(at ?? Date.now()).toISOString(),
      data,
    });
    await this.deps.deliveries.add({
      endpointId: endpoint.id,
      messageId,
      type,
      body: this.deps.cipher.seal(body),
    });
  }
}

function subscribed(endpoints: readonly WebhookEndpoint[], type: WebhookEventType) {
  return endpoints.filter((e) => e.events.includes(type));
}
