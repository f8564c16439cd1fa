/**
 * Starts a real `redis-server` (Debian's package) for tests, benchmarks and the local stack.
 * Local and test infrastructure only: production points REDIS_URL at its own Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

/** A running local Redis. */
export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Options of a local Redis. */
export interface LocalRedisOptions {
  /** Folder for AOF persistence; none (memory only) when absent. */
  readonly dataDir?: string;
  readonly port?: number;
  readonly binary?: string;
  /** Run in its own process group, so a terminal's Ctrl-C does not stop it before its clients. */
  readonly detached?: boolean;
}

/** Starts redis-server on a free port and waits until it answers PING. */
export async function startLocalRedis(options: LocalRedisOptions = {}): Promise<LocalRedis> {
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('--dir', options.dataDir, '--appendonly', 'yes', '--appendfsync', 'everysec');
  } else {
    args.push('--appendonly', 'no');
  }
  const child = spawn(options.binary ?? 'redis-server', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: options.detached ?? false,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new Error(
          `cannot start redis-server (${err.message}); install it: apt-get install redis-server`,
        ),
      ),
    ),
  );
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([waitForPing(url, () => stderr), spawnError]);
  return {
    url,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForPing(url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`redis-server did not answer on ${url}: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}
