import { describe, expect, it } from 'vitest';
import {
  claimableAt,
  isClaimable,
  poolMayUse,
  reclaimCutoffs,
  slotPreference,
} from '../../../src/shared/semaphore/slot-rules.js';

const timing = { stediTimeoutMs: 90_000, skewMarginMs: 500 };

describe('slot rules', () => {
  it('lets batch use only the L - R shared slots and realtime any slot, reserved first', () => {
    expect(slotPreference('batch', 5, 2)).toEqual([0, 1, 2]);
    expect(slotPreference('realtime', 5, 2)).toEqual([3, 4, 0, 1, 2]);
    // A process's own starting point rotates each range, never mixing them.
    expect(slotPreference('batch', 5, 2, 4)).toEqual([1, 2, 0]);
    expect(slotPreference('realtime', 5, 2, 4)).toEqual([3, 4, 1, 2, 0]);
    expect(poolMayUse('batch', 3, 5, 2)).toBe(false);
    expect(poolMayUse('realtime', 3, 5, 2)).toBe(true);
    expect(poolMayUse('realtime', 5, 5, 2)).toBe(false);
  });

  it('treats a missing or ownerless item as free', () => {
    const cut = reclaimCutoffs(1_000_000, timing);
    expect(isClaimable(undefined, cut)).toBe(true);
    expect(isClaimable({ slot: 0 }, cut)).toBe(true);
  });

  it('reclaims an idle slot only after its lease plus the skew margin', () => {
    const held = { slot: 0, owner: 'w1', leaseUntil: 10_000 };
    expect(isClaimable(held, reclaimCutoffs(10_000, timing))).toBe(false);
    expect(isClaimable(held, reclaimCutoffs(10_500, timing))).toBe(false);
    expect(isClaimable(held, reclaimCutoffs(10_501, timing))).toBe(true);
    expect(claimableAt(held, timing)).toBe(10_501);
  });

  it('keeps an in-call slot until call start + Stedi bound + skew, even with an expired lease', () => {
    const inCall = { slot: 0, owner: 'w1', leaseUntil: 10_000, callStartedAt: 5_000 };
    expect(isClaimable(inCall, reclaimCutoffs(60_000, timing))).toBe(false);
    expect(isClaimable(inCall, reclaimCutoffs(95_500, timing))).toBe(false);
    expect(isClaimable(inCall, reclaimCutoffs(95_501, timing))).toBe(true);
    expect(claimableAt(inCall, timing)).toBe(95_501);
  });

  it('keeps a renewed slot whose call started long ago (a live holder past the bound is still live)', () => {
    const renewed = { slot: 0, owner: 'w1', leaseUntil: 200_000, callStartedAt: 5_000 };
    expect(isClaimable(renewed, reclaimCutoffs(150_000, timing))).toBe(false);
  });
});
