/** The in-process ideal: a FIFO counting semaphore with no I/O, the ceiling any design can reach. */
export class IdealSemaphore {
  private free: number;
  private readonly waiters: (() => void)[] = [];

  constructor(capacity: number) {
    this.free = capacity;
  }

  /** Resolves with a release function once a slot is free. */
  async acquire(): Promise<() => Promise<void>> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
  }
}
