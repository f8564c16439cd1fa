import { Redis } from 'ioredis';

/** A Redis connection as BullMQ needs it (no per-command retry limit, for blocking commands). */
export function createRedis(url: string, options: { name?: string } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(options.name ? { connectionName: options.name } : {}),
  });
}

/**
 * A connection for request paths (the producer): a command fails after `commandTimeoutMs`, and at
 * once while the connection is down, rather than waiting for Redis with the HTTP request held.
 * A command that timed out was still sent, and Redis runs it if it comes back. Not for blocking
 * commands (BullMQ Workers, QueueEvents): see `blockingDuplicate`.
 */
export function createRequestRedis(
  url: string,
  options: { name?: string; commandTimeoutMs: number },
): Redis {
  return new Redis(url, {
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableReadyCheck: true,
    ...(options.name ? { connectionName: options.name } : {}),
  });
}

/** A new connection like `redis` but fit for blocking commands: no command timeout, waits for reconnects. */
export function blockingDuplicate(redis: Redis): Redis {
  return redis.duplicate({
    commandTimeout: undefined,
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
  });
}

/** Resolves once `redis` is ready, or after `timeoutMs` (whichever first); never rejects. */
export async function readyWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  const ready = await new Promise<boolean>((resolve) => {
    onReady = () => resolve(true);
    redis.once('ready', onReady);
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  clearTimeout(timer);
  if (onReady) redis.off('ready', onReady);
  return ready;
}
