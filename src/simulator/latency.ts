import { lognormal, seededRandom } from '../shared/random.js';

/** Draws latencies in ms, already time-scaled. */
export interface LatencySampler {
  next(): number;
  atBound(): number;
}

/** Draws simulated Stedi latencies in ms: lognormal, capped at the bound, then time-scaled. */
export function latencySampler(
  latency: { medianMs: number; sigma: number; maxMs: number },
  timeScale: number,
  random: () => number,
): LatencySampler {
  const draw = lognormal(random, latency.medianMs, latency.sigma);
  return {
    next: () => Math.min(draw(), latency.maxMs) * timeScale,
    atBound: () => latency.maxMs * timeScale,
  };
}

export { seededRandom };
