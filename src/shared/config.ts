/**
 * Configuration comes from the environment, parsed once by one zod schema. Every variable has a
 * default that suits the local stack; production overrides what differs. An invalid value fails
 * fast with a ConfigError naming the variable.
 */
import { z } from 'zod';
import { ConfigError } from './errors/config-error.js';

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

    STEDI_BASE_URL: z.string().url().default('https://healthcare.us.stedi.com'),
    STEDI_API_KEY: optionalString,
    /** How the key is sent: the raw key (Stedi's docs) or `Key <api-key>`. */
    STEDI_AUTH_SCHEME: z.enum(['raw', 'key']).default('raw'),
    /** The account's concurrency allocation L: requests in flight at Stedi. */
    STEDI_CONCURRENCY: int(5, 1),
    /** Slots R kept for realtime checks: batch never holds more than L - R. */
    STEDI_REALTIME_RESERVED: int(1, 0),
    /** Stedi's own bound on one request, in ms; we never abort earlier, and a crashed call keeps its slot this long. */
    STEDI_TIMEOUT_MS: int(90_000, 1_000),
  })
  .superRefine((env, ctx) => {
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
