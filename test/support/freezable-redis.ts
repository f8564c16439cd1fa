/**
 * A redis-server of a test's own that can be frozen (SIGSTOP) and thawed (SIGCONT), as a hung or
 * paused Redis behaves: its TCP connections stay open, nothing answers, and everything sent
 * meanwhile runs when it resumes. Its own server, because freezing the run's shared one would
 * stall every other test file.
 */
import { startLocalRedis, type LocalRedis } from '../../src/shared/local/redis-server.js';

/** A Redis a test may freeze. */
export interface FreezableRedis {
  readonly url: string;
  readonly server: LocalRedis;
  /** Stops the process (SIGSTOP). */
  freeze(): void;
  /** Resumes it (SIGCONT). */
  thaw(): void;
  /** Thaws it if frozen, then stops it. */
  close(): Promise<void>;
}

/** Starts a freezable redis-server on a free port. */
export async function freezableRedis(): Promise<FreezableRedis> {
  const server = await startLocalRedis();
  let frozen = false;
  const thaw = () => {
    if (frozen) server.process.kill('SIGCONT');
    frozen = false;
  };
  return {
    url: server.url,
    server,
    freeze: () => {
      server.process.kill('SIGSTOP');
      frozen = true;
    },
    thaw,
    close: async () => {
      thaw();
      await server.stop();
    },
  };
}
