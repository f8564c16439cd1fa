/**
 * How many idle slots batch leaves for realtime. Realtime checks arrive at rate λ; each takes an
 * idle slot, and any call finishing (rate μ = busy slots / mean call time) gives one back while
 * the headroom is short. The idle count then behaves as a birth-death chain on 0..H, so an arriving
 * realtime check finds no idle slot with probability P0(H) = ρ^H / (1 + ρ + … + ρ^H), ρ = λ/μ, and
 * then waits for the next release: P(wait > t) ≈ P0(H)·e^(−μt). The policy keeps the smallest H
 * (at least the floor, at most the reserve) that meets the wait target at its percentile. With no
 * realtime arrivals in the window there are no waits to protect, and H is the floor.
 */

/** What the policy needs to know; times in ms, rates per ms. */
export interface HeadroomInputs {
  /** Realtime arrivals per ms, across all workers, over the recent window. */
  readonly realtimeArrivalsPerMs: number;
  /** Mean Stedi call duration, in ms. */
  readonly meanCallMs: number;
  /** The allocation L. */
  readonly allocation: number;
  /** Slots never lent (the floor) and the most ever kept (the reserve R). */
  readonly floor: number;
  readonly reserve: number;
  readonly waitTargetMs: number;
  /** e.g. 99 for p99. */
  readonly waitPercentile: number;
}

/** The headroom H in slots. */
export function realtimeHeadroom(i: HeadroomInputs): number {
  const floor = Math.min(i.floor, i.reserve);
  if (i.realtimeArrivalsPerMs <= 0) return floor;
  const mu = i.allocation / Math.max(1, i.meanCallMs);
  const rho = i.realtimeArrivalsPerMs / mu;
  const allowed = 1 - i.waitPercentile / 100;
  const pWaitLonger = Math.exp(-mu * i.waitTargetMs);
  for (let h = floor; h < i.reserve; h++) {
    if (noIdleSlotProbability(rho, h) * pWaitLonger <= allowed) return h;
  }
  return i.reserve;
}

/** P0(H): the chance that an arriving realtime check finds all H headroom slots taken. */
export function noIdleSlotProbability(rho: number, h: number): number {
  let sum = 0;
  let term = 1;
  for (let k = 0; k <= h; k++) {
    sum += term;
    if (k < h) term *= rho;
  }
  return term / sum;
}
