import { describe, expect, it } from 'vitest';
import { RestartBudget } from '../../src/producer/restart-budget.js';

describe('the restart budget of a producer cluster', () => {
  it('allows 5 restarts within a minute, then refuses until the oldest is a minute old', () => {
    let now = 0;
    const budget = new RestartBudget(5, 60_000, () => now);
    for (let i = 0; i < 5; i++) {
      expect(budget.take()).toBe(true);
      now += 1_000;
    }
    expect(budget.take()).toBe(false);
    now = 59_999;
    expect(budget.take()).toBe(false);
    now = 60_000; // The first restart (at 0) has left the window.
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
  });

  it('never runs out for crashes spread over time', () => {
    let now = 0;
    const budget = new RestartBudget(5, 60_000, () => now);
    for (let i = 0; i < 100; i++) {
      expect(budget.take()).toBe(true);
      now += 15_000;
    }
  });
});
