/**
 * How many times a supervisor may restart a crashed process: at most `max` within `windowMs`.
 * Past that the crashes are not transient, and restarting only hides them from the orchestrator.
 */
export class RestartBudget {
  private readonly restarts: number[] = [];

  constructor(
    private readonly max = 5,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a restart if the budget allows one now; false when it is spent. */
  take(): boolean {
    const t = this.now();
    while (this.restarts.length > 0 && (this.restarts[0] ?? 0) <= t - this.windowMs)
      this.restarts.shift();
    if (this.restarts.length >= this.max) return false;
    this.restarts.push(t);
    return true;
  }
}
