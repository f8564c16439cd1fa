/**
 * Per-payer behaviour of the simulator (option `payers`): a payer's own latency, and payer
 * outages during which every request to the payer holds its slot and then fails, as a payer that
 * is down does at Stedi. Payers without a profile use the global settings.
 */
import { createHash } from 'node:crypto';
import { latencySampler, seededRandom, type LatencySampler } from './latency.js';
import { aaaDescription, type Outcome } from './mock-catalog.js';

/** A payer's lognormal latency in ms before time scaling; maxMs defaults to the global bound. */
export interface PayerLatency {
  readonly medianMs: number;
  readonly sigma: number;
  readonly maxMs?: number;
}

/** HTTP statuses an outage may answer with. */
export type OutageStatus = 500 | 502 | 503 | 504;

/** What an outage answers: AAA 42 or 80 in a 200 (AAA 42 when neither is set), or an HTTP status. */
export type OutageAnswer =
  | { readonly aaa?: '42' | '80'; readonly status?: never }
  | { readonly status: OutageStatus; readonly aaa?: never };

/**
 * A payer outage: between fromMs (default 0) and untilMs (default never) after the simulator
 * started listening, each admitted request holds its slot afterMs, then gets the answer. All three
 * times are multiplied by the time scale.
 */
export type PayerOutage = OutageAnswer & {
  readonly afterMs: number;
  readonly fromMs?: number;
  readonly untilMs?: number;
};

/** How one payer differs from the global settings. */
export interface PayerProfile {
  readonly latency?: PayerLatency;
  readonly outage?: PayerOutage;
}

/** An outage in force for a request: how long it holds the slot (scaled), and what it answers. */
export type ActiveOutage = { readonly delayMs: number } & (
  { readonly status: OutageStatus } | { readonly outcome: Outcome }
);

/** The per-payer lookups the server makes for each admitted request. */
export interface PayerBehaviour {
  /** The payer's own latency sampler, or undefined when it uses the global one. */
  latencyOf(payer: string): LatencySampler | undefined;
  /** The payer's outage in force `elapsedMs` after the simulator started, if any. */
  activeOutage(payer: string, elapsedMs: number): ActiveOutage | undefined;
}

/** Builds the per-payer samplers (each seeded from the seed and the payer id) and outage lookups. */
export function payerBehaviour(
  profiles: Readonly<Record<string, PayerProfile>>,
  global: { latency: { maxMs: number }; timeScale: number; seed: number },
): PayerBehaviour {
  // Maps, not the record itself, so a payer id such as "constructor" finds no inherited value.
  const samplers = new Map<string, LatencySampler>();
  const outages = new Map<string, PayerOutage>();
  for (const [payer, profile] of Object.entries(profiles)) {
    if (profile.latency) {
      const { medianMs, sigma, maxMs = global.latency.maxMs } = profile.latency;
      // Own random stream per payer, so one payer's traffic does not shift another's latencies.
      const random = seededRandom(payerSeed(global.seed, payer));
      samplers.set(payer, latencySampler({ medianMs, sigma, maxMs }, global.timeScale, random));
    }
    if (profile.outage) outages.set(payer, profile.outage);
  }
  const scale = global.timeScale;
  return {
    latencyOf: (payer) => samplers.get(payer),
    activeOutage: (payer, elapsedMs) => {
      const outage = outages.get(payer);
      if (!outage) return undefined;
      const { fromMs = 0, untilMs = Infinity } = outage;
      if (elapsedMs < fromMs * scale || elapsedMs >= untilMs * scale) return undefined;
      const delayMs = outage.afterMs * scale;
      if (outage.status !== undefined) return { delayMs, status: outage.status };
      const code = outage.aaa ?? '42';
      return { delayMs, outcome: { kind: 'aaa', code, description: aaaDescription(code) } };
    },
  };
}

function payerSeed(seed: number, payer: string): number {
  return createHash('sha256').update(`${seed}|${payer}`).digest().readUInt32BE(0);
}
