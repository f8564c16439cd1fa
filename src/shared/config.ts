/**
 * Configuration comes from the environment, parsed once by one zod schema. Every variable has a
 * default that suits the local stack; production overrides what differs. An invalid value fails
 * fast with a ConfigError naming the variable.
 */
import { z } from 'zod';
import { ConfigError } from './errors/config-error.js';
import type { PriorityJobSettings } from './queues.js';
import { DataCipher, parseDataKeys } from './crypto/data-cipher.js';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
/** An http(s) URL: Stedi's clients speak nothing else, and would only fail at the first call. */
const httpUrl = z
  .string()
  .url()
  // zod runs the refinement after a failed url() too: a value URL cannot parse is url()'s to name.
  .refine(
    (v) => !URL.canParse(v) || /^https?:$/.test(new URL(v).protocol),
    'must be an http:// or https:// URL',
  );

/** The environment variables this system reads, with their defaults. */
export const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),

    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    /** Prefix of every BullMQ key, so several deployments (or tests) can share one Redis. */
    QUEUE_PREFIX: z.string().min(1).default('eq'),

    /** Unset: the AWS endpoint of AWS_REGION. Set: DynamoDB Local, dynalite, or another endpoint. */
    DYNAMODB_ENDPOINT: optionalString.pipe(z.string().url().optional()),
    AWS_REGION: z.string().min(1).default('us-east-1'),
    SEMAPHORE_TABLE: z.string().min(3).max(255).default('eligibility-semaphore'),
    /** One semaphore per Stedi account: workers of one account share this name. */
    SEMAPHORE_NAME: z.string().min(1).max(200).default('stedi-default'),
    /** Create the table when missing (local and tests). In AWS create it with infrastructure code. */
    SEMAPHORE_CREATE_TABLE: bool(true),
    /** Lease of a held slot, in ms; renewed every third of it while held. */
    SEMAPHORE_LEASE_MS: int(15_000, 300),
    /** Worst clock difference between two workers we tolerate, in ms (DynamoDB has no server clock). */
    SEMAPHORE_SKEW_MARGIN_MS: int(500, 0),
    /** Fallback check while waiting, in ms, for missed release hints (jittered). */
    SEMAPHORE_FALLBACK_CHECK_MS: int(1_000, 20),
    /**
     * Deadline of one semaphore store operation (SDK retries included), in ms; unset: a quarter of
     * the lease, within 1000..2000. The DynamoDB request is aborted then; a write past it counts as
     * failed and is undone if it landed.
     */
    SEMAPHORE_STORE_TIMEOUT_MS: z.coerce.number().int().min(50).optional(),

    STEDI_BASE_URL: httpUrl.default('https://healthcare.us.stedi.com'),
    STEDI_API_KEY: optionalString.refine(
      // "Key <key>" too: Stedi still accepts its older header form, sent as it is.
      (v) => v === undefined || /^(Key )?[\x21-\x7e]+$/.test(v),
      'must be printable ASCII with no spaces (it is sent as an HTTP header)',
    ),
    /** How the key is sent: the raw key (Stedi's docs) or `Key <api-key>`. */
    STEDI_AUTH_SCHEME: z.enum(['raw', 'key']).default('raw'),
    /**
     * Stedi's real-time endpoint the workers call: `v3` or `2026-06-01`. Checks in the other shape
     * are converted; the producer refuses what cannot be (README, "Stedi endpoints").
     */
    STEDI_ELIGIBILITY_ENDPOINT: z.enum(['v3', '2026-06-01']).default('v3'),
    /** Base URL of Stedi's Batch Eligibility API, the batch route's (README, "The batch route"). */
    STEDI_BATCH_BASE_URL: httpUrl.default('https://manager.us.stedi.com'),
    /**
     * Batch submissions of at least this many checks go to Stedi's Batch Eligibility API unless
     * they ask otherwise (`route`); 0: only those that ask.
     */
    STEDI_BATCH_ROUTE_MIN_ITEMS: int(0, 0),
    /** Checks per request to Stedi's Batch Eligibility API (Stedi takes up to 10,000). */
    STEDI_BATCH_CHUNK_SIZE: z.coerce.number().int().min(1).max(10_000).default(1_000),
    /** maxRetryHours passed to Stedi when a routed submission names none (8 to 24). */
    STEDI_BATCH_MAX_RETRY_HOURS: z.coerce.number().int().min(8).max(24).default(8),
    /** Wait before the first poll of a submitted chunk, and after each poll that saw progress, in ms. */
    STEDI_BATCH_POLL_MS: int(30_000, 10),
    /** Longest wait between polls of a chunk that makes no progress, in ms. */
    STEDI_BATCH_POLL_MAX_MS: int(600_000, 10),
    /** How long past maxRetryHours the poller waits for Stedi before failing what is left, in ms. */
    STEDI_BATCH_GRACE_MS: int(2 * 3_600_000, 0),
    /** Routed checks and chunks one worker process handles at once (they take no semaphore slot). */
    WORKER_ROUTED_CONCURRENCY: int(8, 1),
    /** The account's concurrency allocation L: requests in flight at Stedi. */
    STEDI_CONCURRENCY: int(5, 1),
    /**
     * Slots R kept for realtime checks when realtime needs them: batch borrows them while realtime
     * is quiet (see REALTIME_WAIT_TARGET_MS) and gives them back as its calls finish.
     */
    STEDI_REALTIME_RESERVED: int(1, 0),
    /** Slots of R that are never lent to batch, whatever the realtime traffic (may be 0). */
    STEDI_REALTIME_FLOOR: int(0, 0),
    /** Realtime slot wait the lending policy aims for, in ms, at REALTIME_WAIT_PERCENTILE. */
    REALTIME_WAIT_TARGET_MS: int(100, 1),
    REALTIME_WAIT_PERCENTILE: z.coerce.number().min(50).max(99.99).default(99),
    /** Stedi's own bound on one request, in ms; we never abort earlier, and a crashed call keeps its slot this long. */
    STEDI_TIMEOUT_MS: int(90_000, 1_000),

    /** Realtime checks one worker process runs at once (each holds or waits for a slot). */
    WORKER_REALTIME_CONCURRENCY: int(0, 0),
    /** Batch checks one worker process runs at once; 0 means L - R, enough to fill the batch pool alone. */
    WORKER_BATCH_CONCURRENCY: int(0, 0),
    /**
     * BullMQ job lock, in ms, renewed every half of it. A live worker keeps its checks through an
     * event-loop stall shorter than about half of it; a dead worker's checks are re-run within
     * WORKER_DEAD_AFTER_MS, or about this plus the stalled interval if that is off.
     */
    WORKER_LOCK_MS: int(10_000, 1_000),
    WORKER_STALLED_INTERVAL_MS: int(5_000, 500),
    /**
     * A worker process none of whose Redis connections is seen for this long is dead, in ms: its
     * checks go back to the queue at once instead of after the lock and stalled interval. 0 turns
     * this off. A process cut off from Redis this long is taken for dead too (its calls in flight
     * keep their slots, so the allocation holds, but such a check may be answered twice).
     */
    WORKER_DEAD_AFTER_MS: int(750, 0),
    /** How often some worker process looks for dead ones (one per interval, whatever their number), in ms. */
    WORKER_LIVENESS_CHECK_MS: int(250, 50),
    /** Times a check may be orphaned by dying workers before it fails with a reason. */
    WORKER_MAX_STALLED_COUNT: int(3, 0),
    /** How long a stopping worker lets in-flight calls finish, in ms; 0 means STEDI_TIMEOUT_MS + 5 s. */
    WORKER_SHUTDOWN_TIMEOUT_MS: int(0, 0),
    /**
     * OpenTelemetry: tracing is on only when this is set, exporting OTLP over HTTP to
     * `<endpoint>/v1/traces` (a collector, Jaeger or Tempo, e.g. http://jaeger:4318).
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.string().url().optional()),
    /**
     * Share of submissions traced when tracing is on, 0 to 1 (by trace id, so a trace is kept or
     * dropped whole): it bounds what the tracing backend receives (bench:tracing-cost).
     */
    TRACE_SAMPLE_RATIO: z.coerce.number().min(0).max(1).default(1),
    /** Port of the worker's Prometheus /metrics; 0 picks a free port, -1 turns it off. */
    WORKER_METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(9464),
    /** Delay before a check refused with 429 is tried again, in ms (not an attempt). */
    THROTTLE_RETRY_MS: int(1_000, 10),
    /**
     * A payer's breaker opens after this many of its failures in a row (AAA 42/80, 5xx, timeouts),
     * counted across every worker.
     */
    CIRCUIT_FAILURE_THRESHOLD: int(3, 1),
    /** How long an open payer breaker holds that payer's checks before one probe, in ms. */
    CIRCUIT_COOLDOWN_MS: int(120_000, 100),
    /**
     * Longest a batch check waits, from submission, for its payer's breaker to close before it fails
     * with "payer unavailable" (parking spends no attempts), in ms.
     */
    PAYER_OUTAGE_MAX_WAIT_MS: int(6 * 3_600_000, 1_000),
    /** What a realtime check to a payer whose breaker is open gets: a fast failure, or the call. */
    PAYER_OPEN_REALTIME: z.enum(['fail', 'call']).default('fail'),
    /**
     * Most slots one payer holds while other payers' checks wait: `50%` of L or a slot count.
     * Overrides per payer in PAYER_CAPS (`87726=3,OSCAR=40%`) and at run time (PUT /admin/limits).
     */
    PAYER_CAP: z.string().default('50%'),
    PAYER_CAPS: z.string().default(''),
    /** Most slots one payer + provider NPI holds at any time (`0` = no such cap). */
    PAYER_NPI_CAP: int(0, 0),
    /** Concurrency a payer starts with before its answers earn it more (within its cap). */
    PAYER_INITIAL_CONCURRENCY: int(2, 1),
    /** An answer slower than this, in ms, shrinks its payer's earned concurrency like a failure. */
    PAYER_SLOW_CALL_MS: int(5_000, 1),
    /** How often workers re-read limits changed at run time, in ms. */
    LIMITS_REFRESH_MS: int(1_000, 50),

    /**
     * Keys that encrypt patient data at rest, as id:base64(32 bytes), comma separated: the first
     * encrypts, all decrypt (rotation). Required by producer and workers; `npm start` makes one.
     */
    DATA_ENCRYPTION_KEYS: optionalString,
    /** Requests per second each API key may send (token bucket shared by all producers). */
    RATE_LIMIT_PER_SECOND: int(200, 1),
    /** Requests a key may send at once after being idle. */
    RATE_LIMIT_BURST: int(400, 1),
    /** Port of the producer's REST API. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /**
     * Producer processes sharing PORT (node:cluster). One process uses one core; on a machine
     * with spare cores, more processes take more requests. Containers usually keep 1 and scale
     * by replicas.
     */
    PRODUCER_PROCESSES: z.coerce.number().int().min(1).max(64).default(1),
    /**
     * API keys as name:secret:scope+scope, comma separated; scopes are submit, read, admin.
     * Unset in development: one key `local-dev-key` with every scope.
     */
    API_KEYS: optionalString,
    /** Bull Board users as name:password:role, role admin or read. Unset in development: admin/admin-dev and viewer/viewer-dev. */
    BULL_BOARD_USERS: optionalString,
    /** Most checks in one batch POST. */
    BATCH_MAX_ITEMS: int(1_000, 1),
    /** Waiting batch checks above which batch submissions get 429. */
    BATCH_BACKLOG_LIMIT: int(100_000, 1),
    /** Largest `?wait=` in seconds. */
    MAX_WAIT_SECONDS: int(60, 0),
    /** Largest request body, in bytes. */
    BODY_LIMIT_BYTES: int(2 * 1024 * 1024, 1_024),
    /** How long an Idempotency-Key is remembered, in seconds. */
    IDEMPOTENCY_TTL_SECONDS: int(86_400, 1),
    /**
     * Longest a submission (POST /v1/eligibility or /batch) waits on Redis, rate limit included,
     * in ms; past it the answer is 503 with Retry-After. The checks may still land when Redis
     * answers again, so clients retry with the same Idempotency-Key.
     */
    SUBMIT_TIMEOUT_MS: int(1_500, 50),
    /** Longest /readyz waits for Redis and for DynamoDB, in ms (also the producer's Redis probe). */
    READY_TIMEOUT_MS: int(500, 50),
    /** Any other Redis command of the producer fails after this, in ms (reads, Bull Board, metrics). */
    REDIS_COMMAND_TIMEOUT_MS: int(2_000, 100),

    REALTIME_ATTEMPTS: int(3, 1),
    REALTIME_BACKOFF_MS: int(2_000, 0),
    BATCH_ATTEMPTS: int(6, 1),
    /** First retry delay of a batch check, doubled each attempt (payer outages last minutes). */
    BATCH_BACKOFF_MS: int(30_000, 0),
    /** How long completed checks and their results are kept, in seconds. */
    RESULT_RETENTION_SECONDS: int(86_400, 1),
    FAILED_RETENTION_SECONDS: int(7 * 86_400, 1),

    /**
     * Longest a definitive answer is kept and served again for an identical check, in seconds;
     * 0 turns the answer cache and coalescing off.
     */
    ANSWER_CACHE_MAX_AGE_SECONDS: int(0, 0),

    /** Hosts exempt from the production webhook URL rules (https, public addresses): dev, tests. */
    WEBHOOK_ALLOWED_HOSTS: z.string().default(''),
    /** Attempts of one webhook delivery; with WEBHOOK_BACKOFF_MS doubling, 12 span about 17 h. */
    WEBHOOK_ATTEMPTS: int(12, 1),
    /** First retry delay of a webhook delivery, in ms; doubles on each retry (jittered). */
    WEBHOOK_BACKOFF_MS: int(30_000, 10),
    /** Longest wait for a webhook receiver's answer, in ms. */
    WEBHOOK_TIMEOUT_MS: int(10_000, 100),
    /** How long deliveries and their attempts stay visible through the API, in seconds. */
    WEBHOOK_RETENTION_SECONDS: int(7 * 86_400, 1),
  })
  .superRefine((env, ctx) => {
    if (env.STEDI_REALTIME_FLOOR > env.STEDI_REALTIME_RESERVED) {
      ctx.addIssue({
        code: 'custom',
        path: ['STEDI_REALTIME_FLOOR'],
        message: `must not exceed STEDI_REALTIME_RESERVED (${env.STEDI_REALTIME_RESERVED})`,
      });
    }
    if (env.STEDI_REALTIME_RESERVED >= env.STEDI_CONCURRENCY) {
      ctx.addIssue({
        code: 'custom',
        path: ['STEDI_REALTIME_RESERVED'],
        message: `must be below STEDI_CONCURRENCY (${env.STEDI_CONCURRENCY}) so batch checks can run at all`,
      });
    }
  });

export type Config = z.infer<typeof envSchema>;

/** Parses the environment into a Config, or throws a ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(problems);
  }
  return parsed.data;
}

/** Job settings of each priority, from the configuration. */
export function prioritySettings(
  config: Config,
): Record<'realtime' | 'batch', PriorityJobSettings> {
  const keep = {
    keepCompletedSeconds: config.RESULT_RETENTION_SECONDS,
    keepFailedSeconds: config.FAILED_RETENTION_SECONDS,
  };
  return {
    realtime: {
      attempts: config.REALTIME_ATTEMPTS,
      backoffMs: config.REALTIME_BACKOFF_MS,
      ...keep,
    },
    batch: { attempts: config.BATCH_ATTEMPTS, backoffMs: config.BATCH_BACKOFF_MS, ...keep },
  };
}

/** The data cipher of the configuration; a ConfigError says how to make a key when none is set. */
export function cipherFromConfig(config: Config): DataCipher {
  if (!config.DATA_ENCRYPTION_KEYS) {
    throw new ConfigError([
      'DATA_ENCRYPTION_KEYS: is required to encrypt patient data in Redis; set id:<openssl rand -base64 32> (npm start makes one in .local/data-key)',
    ]);
  }
  return new DataCipher(parseDataKeys(config.DATA_ENCRYPTION_KEYS));
}
