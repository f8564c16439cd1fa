/** Settings of the Stedi simulator, from SIMULATOR_* environment variables. */
import { z } from 'zod';
import { commaList } from '../shared/comma-list.js';
import { ConfigError } from '../shared/errors/config-error.js';
import { parsePayerProfiles } from './payer-profile-spec.js';
import type { PayerProfile } from './payer-profiles.js';

const rate = z.coerce.number().min(0).max(1).default(0);

/** The simulator's environment variables and defaults. */
export const simulatorEnvSchema = z.object({
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(4010),
  SIMULATOR_HOST: z.string().default('127.0.0.1'),
  /** Keys accepted as production keys; keys starting with `test_` act as Stedi test keys. */
  SIMULATOR_API_KEYS: z.string().default('dev-key,test_dev-key').transform(commaList),
  /** The account's concurrency allocation: requests in flight past it get 429. */
  SIMULATOR_CONCURRENCY: z.coerce.number().int().min(1).default(5),
  /** Median latency in ms (before time scaling). */
  SIMULATOR_LATENCY_MEDIAN_MS: z.coerce.number().min(0).default(2_000),
  /** Sigma of the lognormal latency: 0.9 gives a long tail. */
  SIMULATOR_LATENCY_SIGMA: z.coerce.number().min(0).default(0.9),
  /** Longest latency in ms (Stedi's bound, before time scaling). */
  SIMULATOR_LATENCY_MAX_MS: z.coerce.number().min(0).default(90_000),
  /** Multiplies every latency: 0.01 runs the same shape 100 times faster. */
  SIMULATOR_TIME_SCALE: z.coerce.number().positive().default(1),
  SIMULATOR_SEED: z.coerce.number().int().default(42),
  /** Fault rates, 0..1, drawn per admitted request. */
  SIMULATOR_FAULT_AAA42_RATE: rate,
  SIMULATOR_FAULT_5XX_RATE: rate,
  SIMULATOR_FAULT_SLOW_RATE: rate,
  SIMULATOR_FAULT_RESET_RATE: rate,
  /** Items the Batch Eligibility API pipeline runs at once (apart from the real-time allocation). */
  SIMULATOR_BATCH_CONCURRENCY: z.coerce.number().int().min(1).default(20),
  /** Median latency of one batch item, in ms (before time scaling; sigma and max as real-time). */
  SIMULATOR_BATCH_LATENCY_MEDIAN_MS: z.coerce.number().min(0).default(2_000),
  /** Time between Stedi's retries of a batch item whose payer could not answer, in ms (scaled). */
  SIMULATOR_BATCH_RETRY_MS: z.coerce.number().min(0).default(300_000),
  /**
   * How long a batch submission's answer takes after the batch exists, in ms (scaled): the window
   * in which a client that dies has had its batch accepted without learning its id.
   */
  SIMULATOR_BATCH_SUBMIT_MS: z.coerce.number().min(0).default(200),
  /** Payer ids accepted besides the built-in list, comma separated. */
  SIMULATOR_EXTRA_PAYERS: z.string().default('').transform(commaList),
  /**
   * Per-payer latency and outages, `PAYER=PART[+PART],…` with PART `latency:MEDIAN_MS/SIGMA[/MAX_MS]`
   * or `outage:ANSWER/AFTER_MS[/FROM_MS-[UNTIL_MS]]`, ANSWER aaa42|aaa80|500|502|503|504; e.g.
   * `SLOW=latency:8000/0.3,DOWN=outage:aaa42/6000/0-30000` (grammar in payer-profile-spec.ts).
   */
  SIMULATOR_PAYER_PROFILES: z
    .string()
    .default('')
    .transform((spec, ctx) => {
      const { profiles, problems } = parsePayerProfiles(spec);
      for (const message of problems) ctx.addIssue({ code: 'custom', message });
      return profiles;
    }),
});

/** Settings of a simulator instance. */
export interface SimulatorOptions {
  readonly apiKeys: readonly string[];
  readonly concurrency: number;
  readonly latency: { readonly medianMs: number; readonly sigma: number; readonly maxMs: number };
  readonly timeScale: number;
  readonly seed: number;
  readonly faults: {
    readonly aaa42: number;
    readonly http5xx: number;
    readonly slow: number;
    readonly reset: number;
  };
  readonly extraPayers: readonly string[];
  /** The Batch Eligibility API's own pipeline: its concurrency, latency and retry interval. */
  readonly batch: {
    readonly concurrency: number;
    readonly latencyMedianMs: number;
    readonly retryMs: number;
    readonly submitMs: number;
  };
  /** Per-payer profiles by payer id; a payer with a profile is accepted even if not known. */
  readonly payers: Readonly<Record<string, PayerProfile>>;
}

/** Defaults of SimulatorOptions: those of the SIMULATOR_* variables, so there is one list. */
export const simulatorDefaults: SimulatorOptions = loadSimulatorEnv({}).options;

/** Parses SIMULATOR_* variables into options and the listen address. */
export function loadSimulatorEnv(env: NodeJS.ProcessEnv = process.env): {
  options: SimulatorOptions;
  port: number;
  host: string;
} {
  const parsed = simulatorEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  return {
    port: e.SIMULATOR_PORT,
    host: e.SIMULATOR_HOST,
    options: {
      apiKeys: e.SIMULATOR_API_KEYS,
      concurrency: e.SIMULATOR_CONCURRENCY,
      latency: {
        medianMs: e.SIMULATOR_LATENCY_MEDIAN_MS,
        sigma: e.SIMULATOR_LATENCY_SIGMA,
        maxMs: e.SIMULATOR_LATENCY_MAX_MS,
      },
      timeScale: e.SIMULATOR_TIME_SCALE,
      seed: e.SIMULATOR_SEED,
      faults: {
        aaa42: e.SIMULATOR_FAULT_AAA42_RATE,
        http5xx: e.SIMULATOR_FAULT_5XX_RATE,
        slow: e.SIMULATOR_FAULT_SLOW_RATE,
        reset: e.SIMULATOR_FAULT_RESET_RATE,
      },
      extraPayers: e.SIMULATOR_EXTRA_PAYERS,
      batch: {
        concurrency: e.SIMULATOR_BATCH_CONCURRENCY,
        latencyMedianMs: e.SIMULATOR_BATCH_LATENCY_MEDIAN_MS,
        retryMs: e.SIMULATOR_BATCH_RETRY_MS,
        submitMs: e.SIMULATOR_BATCH_SUBMIT_MS,
      },
      payers: e.SIMULATOR_PAYER_PROFILES,
    },
  };
}
