import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState } from '../../src/worker/circuit-breaker.js';

describe('CircuitBreaker', () => {
  it('opens after the threshold, half-opens after the cool-down, and closes on success', () => {
    let now = 0;
    const changes: CircuitState[] = [];
    const b = new CircuitBreaker({
      threshold: 3,
      cooldownMs: 1000,
      now: () => now,
      onChange: (s) => changes.push(s),
    });
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    now = 400;
    expect(b.remainingMs()).toBe(600);
    now = 1000;
    expect(b.state).toBe('half-open');
    b.failure();
    expect(b.state).toBe('open');
    now = 2000;
    expect(b.state).toBe('half-open');
    b.success();
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('resets the failure count on a success', () => {
    const b = new CircuitBreaker({ threshold: 2, cooldownMs: 1000, now: () => 0 });
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });
});
