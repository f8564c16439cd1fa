/**
 * Fair sharing of the batch queue between tenants, as start-time fair queuing expressed through
 * BullMQ priorities. Each tenant has a virtual finish tag; its checks are tagged from
 * max(virtual time now, its tag) in steps of 1/weight, and the queue serves the lowest tag first.
 * Virtual time is the priority at the head of the queue, so a tenant arriving behind a long run
 * starts level with the check being served, not behind the run.
 *
 * BullMQ priorities are whole numbers below 2^21 and never change once set. Tags are rebased to 0
 * whenever nothing waits with a priority; between two such moments they grow by about one per
 * check served divided by the number of tenants with work, so a continuous backlog of over two
 * million checks with no pause would reach the limit, and further checks then run in arrival order
 * at the end (a warning is logged by the caller) until the queue next drains.
 */
import type { Redis } from 'ioredis';
import { RedisScript } from '../clients/redis-script.js';
import { queueNames } from '../queues.js';
import { SchedulerKeys } from './keys.js';

/** BullMQ's highest priority value (Job.PRIORITY_LIMIT). */
export const PRIORITY_LIMIT = 2 ** 21 - 1;

// KEYS: [1] tag hash, [2] BullMQ prioritized set, [3] delayed set, [4] active list.
// ARGV: tenant, count, weight. Rebasing needs delayed and active empty too: their checks come
// back with their priorities, which must not land behind a rebased run.
const tagLua = `
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local v
if head[2] then
  v = math.floor(tonumber(head[2]) / 4294967296)
elseif redis.call('ZCARD', KEYS[3]) == 0 and redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('DEL', KEYS[1])
  v = 0
else
  v = tonumber(redis.call('HGET', KEYS[1], ':v') or '0')
end
redis.call('HSET', KEYS[1], ':v', tostring(v))
local finish = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local start = math.max(v, finish)
local step = 1 / tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], tostring(start + tonumber(ARGV[2]) * step))
return {tostring(start), tostring(step)}
`;
const tag = new RedisScript(tagLua, 4);

/** The Redis keys fair queuing reads and writes for the batch queue under `prefix`. */
export interface FairQueueKeys {
  readonly tags: string;
  readonly prioritized: string;
  readonly delayed: string;
  readonly active: string;
}

/** Fair-queue keys of the batch queue under a queue prefix. */
export function fairQueueKeys(prefix: string): FairQueueKeys {
  const queue = `${prefix}:${queueNames.batch}`;
  return {
    tags: new SchedulerKeys(prefix).vtime,
    prioritized: `${queue}:prioritized`,
    delayed: `${queue}:delayed`,
    active: `${queue}:active`,
  };
}

// KEYS: [1] tag hash, [2] prioritized set. ARGV: tenant. Reads only: the back of the tenant's line.
const backLua = `
local head = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local v = tonumber(redis.call('HGET', KEYS[1], ':v') or '0')
if head[2] then v = math.max(v, math.floor(tonumber(head[2]) / 4294967296)) end
local finish = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
return tostring(math.max(v, finish))
`;
const back = new RedisScript(backLua, 2);

/**
 * The priority of the back of `tenant`'s line, for a check sent back to wait (parked). It does not
 * advance the tenant's tag: a check parked again and again must not cost its tenant its turn.
 */
export async function backOfLinePriority(
  redis: Redis,
  keys: FairQueueKeys,
  tenant: string,
): Promise<number> {
  const tag = Number(await back.run(redis, [keys.tags, keys.prioritized], [tenant]));
  return Math.min(PRIORITY_LIMIT, 1 + Math.floor(tag));
}

/** Priorities for `count` new batch checks of `tenant`, in submission order. */
export async function fairPriorities(
  redis: Redis,
  keys: FairQueueKeys,
  tenant: string,
  count: number,
  weight: number,
): Promise<number[]> {
  const [start, step] = (
    (await tag.run(
      redis,
      [keys.tags, keys.prioritized, keys.delayed, keys.active],
      [tenant, count, weight],
    )) as string[]
  ).map(Number) as [number, number];
  return Array.from({ length: count }, (_, i) =>
    Math.min(PRIORITY_LIMIT, 1 + Math.floor(start + (i + 1) * step)),
  );
}
