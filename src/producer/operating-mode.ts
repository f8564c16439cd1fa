/**
 * The operator mode, shared by every producer instance through Redis:
 * normal; draining (new checks refused with 503 while workers finish the queue);
 * maintenance (also refused, and every queue paused so workers take nothing).
 */
import type { Redis } from 'ioredis';
import type { CheckQueues } from '../shared/check-queues.js';

/** The three operator modes. */
export type OperatingMode = 'normal' | 'draining' | 'maintenance';

/** Reads and sets the mode; reads are cached for `cacheMs` so the hot path stays cheap. */
export class ModeStore {
  private cached: { mode: OperatingMode; at: number } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly queues: CheckQueues,
    private readonly cacheMs = 500,
  ) {}

  async get(): Promise<OperatingMode> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.mode;
    const v = await this.redis.get(this.key);
    const mode: OperatingMode = v === 'draining' || v === 'maintenance' ? v : 'normal';
    this.cached = { mode, at: Date.now() };
    return mode;
  }

  async set(mode: OperatingMode): Promise<void> {
    await this.redis.set(this.key, mode);
    this.cached = { mode, at: Date.now() };
    const queues = this.queues.allQueues();
    if (mode === 'maintenance') await Promise.all(queues.map((q) => q.pause()));
    else await Promise.all(queues.map((q) => q.resume()));
  }
}
