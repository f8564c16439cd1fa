import { describe, expect, it } from 'vitest';
import {
  noIdleSlotProbability,
  realtimeHeadroom,
  type HeadroomInputs,
} from '../../../src/worker/scheduling/headroom-policy.js';

/** Arrivals per second as the policy takes them (per ms). */
const perSecond = (n: number) => n / 1000;

/** L = 15, floor 0, reserve 5, p99 wait under 100 ms (the configured defaults). */
const base: HeadroomInputs = {
  realtimeArrivalsPerMs: 0,
  meanCallMs: 800,
  allocation: 15,
  floor: 0,
  reserve: 5,
  waitTargetMs: 100,
  waitPercentile: 99,
};

const headroom = (over: Partial<HeadroomInputs>) => realtimeHeadroom({ ...base, ...over });

describe('noIdleSlotProbability (P0 of the birth-death chain on 0..H)', () => {
  it('is certain with no headroom, whatever the load', () => {
    for (const rho of [0, 0.01, 1, 50]) expect(noIdleSlotProbability(rho, 0)).toBe(1);
  });

  it('is zero with headroom and no load', () => {
    expect(noIdleSlotProbability(0, 1)).toBe(0);
    expect(noIdleSlotProbability(0, 3)).toBe(0);
  });

  it('is rho^H / (1 + rho + ... + rho^H)', () => {
    expect(noIdleSlotProbability(1, 1)).toBeCloseTo(1 / 2, 12);
    expect(noIdleSlotProbability(1, 2)).toBeCloseTo(1 / 3, 12);
    expect(noIdleSlotProbability(1, 4)).toBeCloseTo(1 / 5, 12);
    expect(noIdleSlotProbability(0.5, 1)).toBeCloseTo(0.5 / 1.5, 12);
    expect(noIdleSlotProbability(2, 2)).toBeCloseTo(4 / 7, 12);
    expect(noIdleSlotProbability(0.1, 3)).toBeCloseTo(0.001 / 1.111, 12);
  });

  it('falls as H grows and rises with the load', () => {
    for (const rho of [0.05, 0.5, 1, 3]) {
      for (let h = 0; h < 6; h++)
        expect(noIdleSlotProbability(rho, h + 1)).toBeLessThan(noIdleSlotProbability(rho, h));
    }
    for (const h of [1, 2, 4]) {
      expect(noIdleSlotProbability(0.2, h)).toBeLessThan(noIdleSlotProbability(0.4, h));
      expect(noIdleSlotProbability(2, h)).toBeLessThan(noIdleSlotProbability(4, h));
    }
  });
});

describe('realtimeHeadroom', () => {
  it('keeps only the floor when no realtime check arrived', () => {
    expect(headroom({ realtimeArrivalsPerMs: 0 })).toBe(0);
    expect(headroom({ realtimeArrivalsPerMs: 0, floor: 2 })).toBe(2);
    expect(headroom({ realtimeArrivalsPerMs: 0, floor: 2, meanCallMs: 60_000 })).toBe(2);
  });

  it('lends everything with 150 ms calls and light realtime at L = 15', () => {
    // μ = 0.1/ms: a release comes within 100 ms with near certainty, so no slot need stay idle.
    expect(headroom({ meanCallMs: 150, realtimeArrivalsPerMs: perSecond(1) })).toBe(0);
    expect(headroom({ meanCallMs: 150, realtimeArrivalsPerMs: perSecond(5) })).toBe(0);
  });

  it('keeps 1 slot for 0.5/s and 2 for 1.5/s with 800 ms calls', () => {
    expect(headroom({ realtimeArrivalsPerMs: perSecond(0.5) })).toBe(1);
    expect(headroom({ realtimeArrivalsPerMs: perSecond(1.5) })).toBe(2);
  });

  it('keeps the whole reserve under a realtime flood', () => {
    expect(headroom({ realtimeArrivalsPerMs: perSecond(200) })).toBe(5);
    expect(headroom({ realtimeArrivalsPerMs: perSecond(10_000), reserve: 3 })).toBe(3);
    expect(headroom({ realtimeArrivalsPerMs: perSecond(10_000), reserve: 0 })).toBe(0);
  });

  it('keeps more for a stricter wait target or percentile, less for a looser one', () => {
    const rt = perSecond(1.5);
    expect(headroom({ realtimeArrivalsPerMs: rt, waitPercentile: 90 })).toBe(1);
    expect(headroom({ realtimeArrivalsPerMs: rt, waitTargetMs: 1_000 })).toBe(0);
    expect(headroom({ realtimeArrivalsPerMs: rt, waitPercentile: 99.99 })).toBe(3);
    expect(headroom({ realtimeArrivalsPerMs: rt, waitPercentile: 99.99, waitTargetMs: 1 })).toBe(4);
  });

  it('keeps more when calls are longer (releases come more slowly)', () => {
    const rt = perSecond(1.5);
    const byCall = [150, 400, 800, 2_000, 5_000].map((ms) =>
      headroom({ realtimeArrivalsPerMs: rt, meanCallMs: ms }),
    );
    expect(byCall).toEqual([...byCall].sort((a, b) => a - b));
    expect(byCall[0]).toBe(0);
    expect(byCall[4]).toBeGreaterThan(byCall[2]!);
  });

  it('returns the smallest H meeting the target: one less would miss it', () => {
    for (const rate of [0.3, 0.5, 1, 1.5, 3, 6]) {
      const i = { ...base, realtimeArrivalsPerMs: perSecond(rate) };
      const h = realtimeHeadroom(i);
      const mu = i.allocation / i.meanCallMs;
      const rho = i.realtimeArrivalsPerMs / mu;
      const pLonger = Math.exp(-mu * i.waitTargetMs);
      const allowed = 1 - i.waitPercentile / 100;
      if (h < i.reserve)
        expect(noIdleSlotProbability(rho, h) * pLonger).toBeLessThanOrEqual(allowed);
      if (h > i.floor) expect(noIdleSlotProbability(rho, h - 1) * pLonger).toBeGreaterThan(allowed);
    }
  });

  it('never goes below the floor nor above the reserve', () => {
    for (const floor of [0, 1, 2, 4])
      for (const reserve of [0, 1, 3, 6])
        for (const rate of [0, 0.01, 0.5, 1.5, 20, 1_000])
          for (const meanCallMs of [0, 50, 150, 800, 5_000]) {
            const h = headroom({
              floor,
              reserve,
              meanCallMs,
              realtimeArrivalsPerMs: perSecond(rate),
            });
            expect(h).toBeGreaterThanOrEqual(Math.min(floor, reserve));
            expect(h).toBeLessThanOrEqual(reserve);
            expect(Number.isInteger(h)).toBe(true);
          }
  });

  it('keeps the floor even when realtime is light, and caps a floor above the reserve', () => {
    expect(headroom({ floor: 2, meanCallMs: 150, realtimeArrivalsPerMs: perSecond(1) })).toBe(2);
    expect(headroom({ floor: 9, reserve: 5, realtimeArrivalsPerMs: 0 })).toBe(5);
    expect(headroom({ floor: 9, reserve: 5, realtimeArrivalsPerMs: perSecond(0.5) })).toBe(5);
  });
});
