/**
 * Figures computed from hold intervals [grantedAt, releasedAt] (epoch ms, sub-ms precision):
 * utilization while work waited, release-to-grant gaps, and the most holders at once.
 */

/** One use of a slot, as its holder saw it. */
export interface Hold {
  readonly grantedAt: number;
  readonly releasedAt: number;
}

/** p-th percentile (0..100) of values, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

/** Busy slot-time ÷ (capacity × window), counting only the part of each hold inside the window. */
export function utilization(
  holds: readonly Hold[],
  capacity: number,
  from: number,
  to: number,
): number {
  if (to <= from) return NaN;
  let busy = 0;
  for (const h of holds)
    busy += Math.max(0, Math.min(h.releasedAt, to) - Math.max(h.grantedAt, from));
  return busy / (capacity * (to - from));
}

/** Most holds overlapping at one instant (a release at the same instant as a grant counts first). */
export function maxConcurrent(holds: readonly Hold[]): number {
  const events: [number, number][] = [];
  for (const h of holds) events.push([h.grantedAt, 1], [h.releasedAt, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of events) {
    now += d;
    max = Math.max(max, now);
  }
  return max;
}

/**
 * For each grant that followed a release, the time the freed slot sat idle: releases are matched
 * to the next grants in order. Grants of the initial fill, with no release before them, are skipped.
 */
export function handOffGaps(holds: readonly Hold[]): number[] {
  const events: [number, 'g' | 'r'][] = [];
  for (const h of holds) events.push([h.grantedAt, 'g'], [h.releasedAt, 'r']);
  events.sort((a, b) => a[0] - b[0] || (a[1] === 'r' ? -1 : 1));
  const freed: number[] = [];
  const gaps: number[] = [];
  let head = 0;
  for (const [t, kind] of events) {
    if (kind === 'r') freed.push(t);
    else if (head < freed.length) gaps.push(t - (freed[head++] ?? t));
  }
  return gaps;
}

/** Time from `from` until `count` holds first overlapped (the initial fill); NaN if never. */
export function timeToReach(holds: readonly Hold[], count: number, from: number): number {
  const events: [number, number][] = [];
  for (const h of holds) events.push([h.grantedAt, 1], [h.releasedAt, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  for (const [t, d] of events) {
    now += d;
    if (now >= count) return t - from;
  }
  return NaN;
}
