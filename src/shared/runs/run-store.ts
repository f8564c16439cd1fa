/**
 * Runs: the checks of one batch POST followed as one resource. A run is a small Redis hash (owner,
 * size, route, creation time, cancellation time); its checks are the batch queue's jobs
 * `<run id>-<i>`, or for a run routed to Stedi's Batch Eligibility API the routed checks queue's
 * `sb_<run id>-<i>`.
 *
 * States are never counted by increments: every count is read from BullMQ's own job state at the
 * moment of asking (one Lua script over the run's ids), so a check retried after a worker crash,
 * re-run by the stalled-job check or moved back to wait is counted once, in the state it is in.
 *
 * The results log gives finished checks a stable order for cursors: a reader appends the checks
 * it finds finished and not yet logged, each with the next sequence number, in one script, so
 * every later append gets a higher number and a cursor (the last number read) never skips one.
 */
import type { Redis } from 'ioredis';
import type { Queue } from 'bullmq';
import { RedisScript } from '../clients/redis-script.js';
import { routedIdPrefix } from '../stedi-batch/routed-jobs.js';

/** A run's record. */
export interface RunRecord {
  readonly id: string;
  /** API key name that created the run; only that key sees it. */
  readonly owner: string;
  readonly size: number;
  /** Set for a run routed to Stedi's Batch Eligibility API. */
  readonly route?: 'stedi-batch';
  readonly createdAt: number;
  readonly cancelledAt?: number;
}

/** What the run's check ids are made of: `<base>-<index>`. */
function idBase(run: Pick<RunRecord, 'id' | 'route'>): string {
  return `${run.route === 'stedi-batch' ? routedIdPrefix.check : ''}${run.id}`;
}

/** The id of check `index` of `run`. */
export function runCheckId(run: Pick<RunRecord, 'id' | 'route'>, index: number): string {
  return `${idBase(run)}-${index}`;
}

/** A run's checks by state, read from BullMQ at one instant. */
export interface RunCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
  /** Removed by DELETE /v1/runs/:id before they started. */
  readonly cancelled: number;
  /** Gone from Redis by retention (RESULT_RETENTION_SECONDS, FAILED_RETENTION_SECONDS). */
  readonly expired: number;
}

/** Counts plus what an estimate of the time to completion needs. */
export interface RunProgress {
  readonly counts: RunCounts;
  /** Checks that finished within the recent window. */
  readonly finishedRecently: number;
  /** When the last check finished (epoch ms), if any has. */
  readonly lastFinishedAt?: number;
}

/** One entry of the results log: a check index and its sequence number (the cursor). */
export interface RunLogEntry {
  readonly index: number;
  readonly seq: number;
}

// Shared by the scripts: the state of check `id` from BullMQ's sets and lists, in the order
// BullMQ's own getState checks them.
const stateOf = `
local function stateOf(id, jobPrefix, completed, failed, delayed, active, cancelled)
  if redis.call('ZSCORE', completed, id) then return 'completed' end
  if redis.call('ZSCORE', failed, id) then return 'failed' end
  if redis.call('ZSCORE', delayed, id) then return 'delayed' end
  if redis.call('EXISTS', jobPrefix .. id) == 1 then
    if redis.call('LPOS', active, id) then return 'active' end
    return 'waiting'
  end
  if redis.call('SISMEMBER', cancelled, id) == 1 then return 'cancelled' end
  return 'expired'
end
`;

// KEYS: cancelled set, completed, failed, delayed, active. ARGV: check id base (`<base>-<i>`),
// size, job key prefix, recent-window start (ms). Returns the seven counts, finished recently, last finish time.
const countScript = new RedisScript(
  `${stateOf}
local counts = { waiting = 0, active = 0, delayed = 0, completed = 0, failed = 0, cancelled = 0, expired = 0 }
local recent, last = 0, 0
local since = tonumber(ARGV[4])
for i = 0, tonumber(ARGV[2]) - 1 do
  local id = ARGV[1] .. '-' .. i
  local s = stateOf(id, ARGV[3], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[1])
  counts[s] = counts[s] + 1
  if s == 'completed' or s == 'failed' then
    local at = tonumber(redis.call('ZSCORE', s == 'completed' and KEYS[2] or KEYS[3], id))
    if at >= since then recent = recent + 1 end
    if at > last then last = at end
  end
end
return { counts.waiting, counts.active, counts.delayed, counts.completed, counts.failed,
  counts.cancelled, counts.expired, recent, last }
`,
  5,
);

// KEYS: run hash, log zset, cancelled set, completed, failed, delayed, active. ARGV: check id
// base, size, job key prefix. Appends every finished (or cancelled) check not yet logged; returns the log size.
const appendScript = new RedisScript(
  `${stateOf}
for i = 0, tonumber(ARGV[2]) - 1 do
  if not redis.call('ZSCORE', KEYS[2], i) then
    local s = stateOf(ARGV[1] .. '-' .. i, ARGV[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[3])
    if s == 'completed' or s == 'failed' or s == 'cancelled' then
      redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'seq', 1), i)
    end
  end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return redis.call('ZCARD', KEYS[2])
`,
  7,
);

// KEYS: run hash. ARGV: owner, size, createdAt, ttl ms, route ('' for our queue). Creates the
// record once (a retried POST with the same Idempotency-Key finds it); returns 1 when the run was
// cancelled.
const createScript = new RedisScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'size', ARGV[2], 'createdAt', ARGV[3], 'seq', 0)
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'route', ARGV[5]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return redis.call('HEXISTS', KEYS[1], 'cancelledAt')
`,
  1,
);

// KEYS: cancelled set, completed, failed, delayed, active. ARGV: check id base, size, job key
// prefix, '1' to skip routed checks already at Stedi. Returns the ids of checks that have not
// started (waiting or delayed), adding them to the cancelled set first: a check removed after
// this is counted as cancelled, not expired. A routed check Stedi has (its data names a
// stediBatchId) runs there whatever we do, so it stays, and is counted as it ends.
const cancellableScript = new RedisScript(
  `${stateOf}
local ids = {}
for i = 0, tonumber(ARGV[2]) - 1 do
  local id = ARGV[1] .. '-' .. i
  local s = stateOf(id, ARGV[3], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[1])
  if s == 'waiting' or s == 'delayed' then
    local atStedi = false
    if ARGV[4] == '1' then
      local data = redis.call('HGET', ARGV[3] .. id, 'data')
      atStedi = data ~= false and cjson.decode(data).stediBatchId ~= nil
    end
    if not atStedi then
      table.insert(ids, id)
      redis.call('SADD', KEYS[1], id)
    end
  end
end
return ids
`,
  5,
);

/** The window over which the recent finishing rate is measured (ms). */
export const RECENT_WINDOW_MS = 60_000;

/** The queues a run's checks are in: ours for batch, or the routed checks queue. */
export interface RunQueues {
  readonly batch: Queue;
  readonly routed: Queue;
}

/** Runs in Redis, over the batch queue and the routed checks queue. */
export class RunStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly queues: RunQueues,
    /** How long a run is kept (ms): as long as its longest-kept check. */
    private readonly retentionMs: number,
  ) {}

  /**
   * Records a new run before its checks are enqueued (a no-op when it exists), and says whether
   * it was cancelled: a retried POST must not enqueue a cancelled run's checks again.
   */
  async create(
    id: string,
    owner: string,
    size: number,
    opts: { route?: 'stedi-batch'; now?: number } = {},
  ): Promise<{ cancelled: boolean }> {
    const r = await createScript.run(
      this.redis,
      [this.key(id)],
      [owner, size, opts.now ?? Date.now(), this.retentionMs, opts.route ?? ''],
    );
    return { cancelled: Number(r) === 1 };
  }

  /** The run's record, if it exists. */
  async get(id: string): Promise<RunRecord | undefined> {
    const h = await this.redis.hgetall(this.key(id));
    if (!h.owner || !h.size) return undefined;
    return {
      id,
      owner: h.owner,
      size: Number(h.size),
      ...(h.route === 'stedi-batch' ? { route: 'stedi-batch' as const } : {}),
      createdAt: Number(h.createdAt),
      ...(h.cancelledAt ? { cancelledAt: Number(h.cancelledAt) } : {}),
    };
  }

  /** The run's checks by state, read from BullMQ now. */
  async progress(run: RunRecord, now = Date.now()): Promise<RunProgress> {
    const r = (await countScript.run(this.redis, this.stateKeys(run), [
      idBase(run),
      run.size,
      this.queueOf(run).toKey(''),
      now - RECENT_WINDOW_MS,
    ])) as number[];
    const [waiting, active, delayed, completed, failed, cancelled, expired, recent, last] = r.map(
      Number,
    ) as [number, number, number, number, number, number, number, number, number];
    return {
      counts: { waiting, active, delayed, completed, failed, cancelled, expired },
      finishedRecently: recent,
      ...(last > 0 ? { lastFinishedAt: last } : {}),
    };
  }

  /** Logs newly finished checks, then reads up to `limit` log entries after `cursor`. */
  async readLog(
    run: RunRecord,
    cursor: number,
    limit: number,
  ): Promise<{ entries: RunLogEntry[]; logged: number }> {
    const logged = Number(
      await appendScript.run(
        this.redis,
        [this.key(run.id), this.logKey(run.id), ...this.stateKeys(run)],
        [idBase(run), run.size, this.queueOf(run).toKey('')],
      ),
    );
    const flat = await this.redis.zrangebyscore(
      this.logKey(run.id),
      `(${cursor}`,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      0,
      limit,
    );
    const entries: RunLogEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      entries.push({ index: Number(flat[i]), seq: Number(flat[i + 1]) });
    return { entries, logged };
  }

  /**
   * Cancels the run: marks it, then removes each check that has not started. A check a worker
   * takes meanwhile is locked, so BullMQ refuses to remove it and it runs to its end. Of a routed
   * run, the checks whose chunk Stedi accepted stay (Stedi runs them anyway); a chunk not yet
   * sent leaves its removed checks out.
   */
  async cancel(run: RunRecord, now = Date.now()): Promise<{ cancelled: number }> {
    await this.redis.hsetnx(this.key(run.id), 'cancelledAt', now);
    const queue = this.queueOf(run);
    const ids = (await cancellableScript.run(this.redis, this.stateKeys(run), [
      idBase(run),
      run.size,
      queue.toKey(''),
      run.route === 'stedi-batch' ? '1' : '0',
    ])) as string[];
    const cancelledKey = this.stateKeys(run)[0] ?? '';
    await this.redis.pexpire(cancelledKey, this.retentionMs);
    const removed = await Promise.all(ids.map((id) => queue.remove(id)));
    return { cancelled: removed.filter((n) => n === 1).length };
  }

  /** Which of `checkIds` of the run were cancelled. */
  async cancelledAmong(run: RunRecord, checkIds: readonly string[]): Promise<Set<string>> {
    if (checkIds.length === 0) return new Set();
    const hits = await this.redis.smismember(this.stateKeys(run)[0] ?? '', ...checkIds);
    return new Set(checkIds.filter((_, i) => hits[i] === 1));
  }

  private key(id: string): string {
    return `${this.prefix}:run:${id}`;
  }

  private logKey(id: string): string {
    return `${this.prefix}:run:${id}:log`;
  }

  private queueOf(run: RunRecord): Queue {
    return run.route === 'stedi-batch' ? this.queues.routed : this.queues.batch;
  }

  /** Cancelled set, then BullMQ's completed, failed, delayed and active keys. */
  private stateKeys(run: RunRecord): string[] {
    const q = this.queueOf(run);
    return [
      `${this.prefix}:run:${run.id}:cancelled`,
      ...['completed', 'failed', 'delayed', 'active'].map((type) => q.toKey(type)),
    ];
  }
}
