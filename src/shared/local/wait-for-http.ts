/** Polls an HTTP endpoint until it answers, for the local stack, tests and benchmarks. */

/** Options of waitForHttp; durations in ms. */
export interface WaitForHttpOptions {
  /** Names the service in the error. */
  readonly what: string;
  readonly timeoutMs: number;
  /** @defaultValue 100 */
  readonly intervalMs?: number;
  /** @defaultValue 'GET' */
  readonly method?: string;
  /** Whether an answer means "up". @defaultValue a 2xx status */
  readonly isUp?: (res: Response) => boolean;
  /** A reason to stop waiting at once (e.g. the process exited), with details for the error. */
  readonly gaveUp?: () => string | undefined;
}

/** Resolves once `url` answers as up; rejects after the timeout or when `gaveUp` says so. */
export async function waitForHttp(url: string, options: WaitForHttpOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const isUp = options.isUp ?? ((res: Response) => res.ok);
  for (;;) {
    try {
      if (isUp(await fetch(url, { method: options.method ?? 'GET' }))) return;
    } catch {
      // Not listening yet.
    }
    const reason = options.gaveUp?.();
    if (reason !== undefined || Date.now() > deadline) {
      throw new Error(`${options.what} did not start at ${url}${reason ? `: ${reason}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
