/**
 * Starts dynalite, an implementation of DynamoDB's API, in this process or as a child process.
 * Local and test infrastructure only: docker-compose uses DynamoDB Local, production uses AWS.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import dynalite from 'dynalite';
import { freePort } from './free-port.js';
import { waitForHttp } from './wait-for-http.js';

/** A running dynalite. */
export interface LocalDynamo {
  readonly endpoint: string;
  /** The child's pid (child process only): chaos tests pause it with SIGSTOP. */
  readonly pid?: number | undefined;
  stop(): Promise<void>;
}

/** Starts dynalite inside this process (tests). `path` persists it; memory when absent. */
export async function startInProcessDynalite(
  options: { path?: string; port?: number } = {},
): Promise<LocalDynamo> {
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  const port = options.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Starts dynalite as a child process, so its CPU time does not share an event loop with the code
 * under measurement (benchmarks, the local stack).
 */
export async function startChildDynalite(
  options: { path?: string; port?: number; detached?: boolean } = {},
): Promise<LocalDynamo> {
  const port = options.port ?? (await freePort());
  const cli = createRequire(import.meta.url).resolve('dynalite/cli.js');
  const args = [cli, '--port', String(port), '--host', '127.0.0.1', '--createTableMs', '0'];
  if (options.path) args.push('--path', options.path);
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  // Any answer at all (dynalite refuses an empty POST) means it listens.
  await waitForHttp(endpoint, {
    what: 'dynalite',
    timeoutMs: 10_000,
    intervalMs: 50,
    method: 'POST',
    isUp: () => true,
    gaveUp: () => (child.exitCode !== null ? stderr || `exited with ${child.exitCode}` : undefined),
  });
  return {
    endpoint,
    pid: child.pid,
    stop: async () => {
      // A paused child would not act on SIGTERM.
      if (child.exitCode === null) child.kill('SIGCONT');
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
