/** Sends queued webhook deliveries, signed, and records each attempt; BullMQ retries failures. */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import {
  WEBHOOK_QUEUE,
  type DeliveryJobData,
  type WebhookDeliveries,
} from '../../shared/webhooks/deliveries.js';
import type { WebhookEndpointStore } from '../../shared/webhooks/endpoint-store.js';
import { signWebhook } from '../../shared/webhooks/signature.js';
import type { WebhookUrlPolicy } from '../../shared/webhooks/url-policy.js';
import { sendWebhook, WebhookAddressRefusedError } from './send-webhook.js';

/** What the delivery worker needs. */
export interface DeliveryWorkerDeps {
  readonly connection: Redis;
  readonly prefix: string;
  readonly endpoints: WebhookEndpointStore;
  readonly deliveries: WebhookDeliveries;
  readonly cipher: ValueCipher;
  readonly policy: WebhookUrlPolicy;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Starts the BullMQ worker of the deliveries queue. */
export function startDeliveryWorker(deps: DeliveryWorkerDeps): Worker<DeliveryJobData> {
  const now = deps.now ?? Date.now;
  const worker = new Worker<DeliveryJobData>(
    WEBHOOK_QUEUE,
    async (job: Job<DeliveryJobData>) => {
      const { endpointId, messageId } = job.data;
      const found = await deps.endpoints.withSecret(endpointId);
      if (!found) return { skipped: 'endpoint deleted' };
      const { endpoint, secret } = found;
      const body = deps.cipher.open(job.data.body) as string;
      const at = now();
      const timestamp = Math.floor(at / 1000);
      const headers = {
        'webhook-id': messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(secret, messageId, timestamp, body),
        'user-agent': 'eligibility-queue-webhooks',
      };
      let status: number;
      try {
        status = await sendWebhook(new URL(endpoint.url), headers, body, {
          timeoutMs: deps.timeoutMs,
          policy: deps.policy,
        });
      } catch (err) {
        const error = (err as Error).message;
        await deps.deliveries.recordAttempt(job.id ?? '', { at, error });
        if (err instanceof WebhookAddressRefusedError) throw new UnrecoverableError(error);
        throw new Error(`no answer: ${error}`, { cause: err });
      }
      await deps.deliveries.recordAttempt(job.id ?? '', { at, status });
      if (status < 200 || status > 299) throw new Error(`receiver answered ${status}`);
      return { status };
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency },
  );
  worker.on('failed', (job, err) => {
    // Ids, event type and the reason only: payloads are never logged.
    deps.logger.warn(
      { delivery: job?.id, type: job?.data.type, attempts: job?.attemptsMade, err: err.message },
      'webhook delivery attempt failed',
    );
  });
  worker.on('error', (err) => deps.logger.error({ err: err.message }, 'webhook worker error'));
  return worker;
}
