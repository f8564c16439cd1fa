/**
 * Orders the runs of one job in one worker process. A run whose job lock was lost (an event-loop
 * stall past the lock, or a process taken for dead) is a zombie: BullMQ's stalled check gives the
 * job to a worker again, possibly this one, while the zombie still runs. BullMQ tracks lock
 * renewal by job id, and a run's end stops the renewal of that id, so a zombie ending after the new
 * run started would leave the new run's lock unrenewed: it would expire, and the check run a third
 * time. So a run does not end while a newer run of the same job is going on here.
 */
export class SameJobRuns {
  private readonly runs = new Map<string, Run[]>();

  /** Runs `body` as the newest run of `jobId`; ends only after every newer run of it has ended. */
  async run<T>(jobId: string | undefined, body: () => Promise<T>): Promise<T> {
    if (jobId === undefined) return body();
    let finish = () => {};
    const me: Run = { finished: false, done: new Promise<void>((resolve) => (finish = resolve)) };
    this.runs.set(jobId, [...(this.runs.get(jobId) ?? []), me]);
    try {
      return await body();
    } finally {
      me.finished = true;
      finish();
      // A newer run may start while this one waits for the others: look again until none is left.
      for (;;) {
        const all = this.runs.get(jobId) ?? [];
        const newer = all.slice(all.indexOf(me) + 1).filter((r) => !r.finished);
        if (newer.length === 0) break;
        await Promise.all(newer.map((r) => r.done));
      }
      const left = (this.runs.get(jobId) ?? []).filter((r) => r !== me);
      if (left.length) this.runs.set(jobId, left);
      else this.runs.delete(jobId);
    }
  }
}

interface Run {
  finished: boolean;
  readonly done: Promise<void>;
}
