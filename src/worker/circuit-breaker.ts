/**
 * Stops a worker from taking batch checks after repeated upstream failures, instead of burning
 * their attempts against a payer or Stedi outage. closed -> open (after `threshold` consecutive
 * failures) -> half-open (after `cooldownMs`) -> closed on a success, open again on a failure.
 */

/** Options of a CircuitBreaker; durations in ms. */
export interface CircuitBreakerOptions {
  readonly threshold: number;
  readonly cooldownMs: number;
  /** @defaultValue Date.now */
  readonly now?: () => number;
  /** Called when the state changes (to pause or resume batch work). */
  readonly onChange?: (state: CircuitState) => void;
}

/** States of the breaker. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Counts consecutive upstream failures and opens for a cool-down. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private current: CircuitState = 'closed';
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state now; an open breaker whose cool-down is over reads half-open. */
  get state(): CircuitState {
    if (
      this.current === 'open' &&
      this.openedAt !== undefined &&
      this.now() - this.openedAt >= this.options.cooldownMs
    ) {
      this.set('half-open');
    }
    return this.current;
  }

  /** Time left until an open breaker lets a trial through, in ms. */
  remainingMs(): number {
    if (this.state !== 'open' || this.openedAt === undefined) return 0;
    return Math.max(0, this.openedAt + this.options.cooldownMs - this.now());
  }

  success(): void {
    this.failures = 0;
    if (this.current !== 'closed') this.set('closed');
  }

  failure(): void {
    this.failures++;
    if (this.state === 'half-open' || this.failures >= this.options.threshold) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  private set(state: CircuitState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onChange?.(state);
  }
}
