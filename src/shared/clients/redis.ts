import { Redis } from 'ioredis';

/** A Redis connection as BullMQ needs it (no per-command retry limit, for blocking commands). */
export function createRedis(url: string, options: { name?: string } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    ...(options.name ? { connectionName: options.name } : {}),
  });
}
