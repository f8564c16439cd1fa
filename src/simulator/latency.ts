import { lognormal, seededRandom } from '../shared/random.js';

/** Draws simulated Stedi latencies in ms: lognormal, capped at the bound, then time-scaled. */
export function latencySampler(
  latency: { medianMs: number; sigma: number; maxMs: number },
  timeScale: number,
  random: () => number,
): { next(): number; atBound(): number } {
  const draw = lognormal(random, latency.medianMs, latency.sigma);
  return {
    next: () => Math.min(draw(), latency.maxMs) * timeScale,
    atBound: () => latency.maxMs * timeScale,
  };
}

export { seededRandom };
