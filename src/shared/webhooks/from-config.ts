/** Webhook settings from the configuration. */
import type { Config } from '../config.js';
import { commaList } from '../comma-list.js';
import type { WebhookUrlPolicy } from './url-policy.js';

/** The URL policy: production rules unless NODE_ENV is not production; allow-listed hosts exempt. */
export function webhookUrlPolicy(config: Config): WebhookUrlPolicy {
  return {
    production: config.NODE_ENV === 'production',
    allowedHosts: new Set(
      commaList(config.WEBHOOK_ALLOWED_HOSTS).map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()),
    ),
  };
}

/** Retry and retention settings of deliveries. */
export function deliverySettings(config: Config) {
  return {
    attempts: config.WEBHOOK_ATTEMPTS,
    backoffMs: config.WEBHOOK_BACKOFF_MS,
    keepSeconds: config.WEBHOOK_RETENTION_SECONDS,
  };
}
