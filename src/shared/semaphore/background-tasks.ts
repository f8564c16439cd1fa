/**
 * Background work a component started (claims, hand-overs, clean-up releases): tracked in one
 * place so `close()` can wait for all of it, and every failure is reported rather than lost.
 */
export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly report: (err: Error) => void) {}

  /** Starts `work` now; its failure goes to the reporter, labelled with `what`. */
  run(what: string, work: () => Promise<void>): void {
    const task = (async () => {
      try {
        await work();
      } catch (err) {
        this.report(
          new Error(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
            cause: err,
          }),
        );
      }
    })();
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  /** Number of tasks still running. */
  get size(): number {
    return this.running.size;
  }

  /** Resolves once every task, including those started meanwhile, has settled. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
