/**
 * Keeps a worker's checks, and their Stedi answers, through a Redis stall.
 *
 * A stall longer than about half of WORKER_LOCK_MS lets the BullMQ lock of every check in
 * progress expire (Redis's clock runs while it is stopped). BullMQ then fails to renew the locks
 * ("could not renew lock") and to complete the checks ("Missing lock … moveToFinished"), and left
 * alone the stalled-job check gives each check to another worker, which calls Stedi again while
 * the first answer is dropped. The keeper, for each check this process runs:
 *
 *  - reclaims the lock as soon as Redis answers again (the stall guard calls `reclaimAll`) and
 *    whenever BullMQ reports a failed renewal: a check still in the active list with no lock has
 *    not been given to anyone, so its lock is set again with this run's token;
 *  - before the check completes, if a stall or a failed renewal was seen since it started, makes
 *    sure the lock is (again) its own, since completing needs it (other checks complete as
 *    before, with no extra round trip). A check that another worker has by then is left to it
 *    (WaitingError: BullMQ does nothing more with it here), with its answer kept in the job
 *    (`eqAnswer`, sealed as every result is);
 *  - when a check runs again after a stall (BullMQ's stalled counter), completes it with a kept
 *    answer instead of calling Stedi.
 *
 * What it cannot prevent: a check taken away while its call is still running (only if the stalled
 * check ran on an expired lock, which the stall guard keeps from happening after a Redis stall)
 * may be called twice. The allocation holds either way: each call has its own semaphore slot.
 */
import { QueueKeys, WaitingError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CheckJobData, CheckJobResult } from '../shared/check-job.js';
import { RedisScript } from '../shared/clients/redis-script.js';
import type { Logger } from '../shared/logger.js';

/** The job hash field that keeps a check's answer when its run lost the check. */
const KEPT_ANSWER_FIELD = 'eqAnswer';

// KEYS: lock, active list, stalled set. ARGV: token, job id, lock ms.
// 1: the lock is ours (extended); 2: it had expired and nobody had the check: reclaimed;
// 0: another run has the check, or it is no longer active.
const reclaimLock = new RedisScript(
  `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if current then return 0 end
if not redis.call('LPOS', KEYS[2], ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SREM', KEYS[3], ARGV[2])
return 2
`,
  3,
);

// KEYS: job hash. ARGV: the answer. Never creates the hash of a job that is gone.
const keepAnswer = new RedisScript(
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], '${KEPT_ANSWER_FIELD}', ARGV[1])
return 1
`,
  1,
);

/** What became of a run's hold on its check. */
type LockState = 'held' | 'reclaimed' | 'lost';

/** A BullMQ processor of checks. */
export type CheckProcessor = (
  job: Job<CheckJobData, CheckJobResult>,
  token?: string,
) => Promise<CheckJobResult>;

/** What the keeper needs. */
export interface JobLockKeeperOptions {
  readonly redis: Redis;
  /** QUEUE_PREFIX. */
  readonly prefix: string;
  /** BullMQ's lock duration (WORKER_LOCK_MS). */
  readonly lockMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Counts what the keeper did: reclaimed or lost locks, kept or reused answers. */
  readonly count?: (what: 'lock-reclaimed' | 'lock-lost' | 'answer-kept' | 'answer-reused') => void;
}

interface Run {
  readonly queue: string;
  readonly jobId: string;
  readonly token: string;
  readonly startedAt: number;
}

/** Reclaims this process's job locks after a Redis stall and keeps answers it cannot deliver. */
export class JobLockKeeper {
  private readonly runs = new Map<string, Run>();
  private readonly keys: QueueKeys;
  private readonly now: () => number;
  /** When Redis last stalled or a lock renewal failed (ms). */
  private troubleAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: JobLockKeeperOptions) {
    this.keys = new QueueKeys(options.prefix);
    this.now = options.now ?? Date.now;
  }

  /**
   * Redis stalls, or a lock renewal failed: runs in progress make sure of their locks before
   * completing. A stall short of half the lock cannot cost a lock (renewals come every half), and
   * any longer one is seen (the stall guard) before a run can complete, since completing waits on
   * Redis.
   */
  noteTrouble(): void {
    this.troubleAt = this.now();
  }

  /** Wraps the processor of queue `queue` so its runs are kept as described above. */
  wrap(queue: string, processor: CheckProcessor): CheckProcessor {
    return async (job, token) => {
      const id = job.id;
      if (id === undefined || token === undefined) return processor(job, token);
      if (job.stalledCounter > 0) {
        const kept = await this.keptAnswer(queue, id);
        if (kept) {
          this.options.logger.info(
            { jobId: id },
            'check completed with the answer an earlier run kept',
          );
          this.options.count?.('answer-reused');
          return kept;
        }
      }
      const key = `${queue}:${id}`;
      const run: Run = { queue, jobId: id, token, startedAt: this.now() };
      this.runs.set(key, run);
      try {
        let result: CheckJobResult;
        try {
          result = await processor(job, token);
        } catch (err) {
          // Delayed and waiting checks were moved by the processor itself, lock and all.
          if (isMoved(err)) throw err;
          if ((await this.lockAtEnd(run)) === 'lost') throw new WaitingError();
          throw err;
        }
        if ((await this.lockAtEnd(run)) === 'lost') {
          await keepAnswer.run(
            this.options.redis,
            [this.keys.toKey(queue, id)],
            [JSON.stringify(result)],
          );
          this.options.count?.('answer-kept');
          this.options.logger.warn(
            { jobId: id },
            'another worker has this check now (its lock expired during a Redis stall): the answer is kept in the job for it',
          );
          throw new WaitingError();
        }
        return result;
      } finally {
        this.runs.delete(key);
      }
    };
  }

  /** The lock at the end of a run: made sure of only if there was trouble since it started. */
  private lockAtEnd(run: Run): Promise<LockState> | LockState {
    if (this.troubleAt < run.startedAt) return 'held';
    return this.reclaim(run.queue, run.jobId, run.token);
  }

  /**
   * Right before a Stedi call: whether this run still has its check, that is its own lock
   * (extended), or a lock that expired with the check still active and nobody else on it (taken
   * back). False when another run has the check: this one must not call (a dead worker's checks
   * are given back at once, see dead-worker-recovery.ts, so a worker taken for dead may find its
   * check gone).
   */
  async holdsForCall(queue: string, jobId: string, token: string): Promise<boolean> {
    return (await this.reclaim(queue, jobId, token)) !== 'lost';
  }

  /**
   * Reclaims the locks of every check this process runs (Redis answers again after a stall).
   * Never rejects: a lock that cannot be reclaimed is logged and left to BullMQ.
   */
  async reclaimAll(): Promise<void> {
    this.noteTrouble();
    await Promise.all([...this.runs.values()].map((r) => this.reclaim(r.queue, r.jobId, r.token)));
  }

  /** Reclaims the locks of `jobIds` of `queue` run here (failed renewals); never rejects. */
  async reclaimRenewals(queue: string, jobIds: readonly string[]): Promise<void> {
    this.noteTrouble();
    const runs = jobIds.flatMap((id) => this.runs.get(`${queue}:${id}`) ?? []);
    await Promise.all(runs.map((r) => this.reclaim(queue, r.jobId, r.token)));
  }

  /** Makes the lock of a run its own again if it can; a Redis error leaves it to BullMQ. */
  private async reclaim(queue: string, jobId: string, token: string): Promise<LockState> {
    let state: LockState;
    try {
      const reply = await reclaimLock.run(
        this.options.redis,
        [
          this.keys.toKey(queue, `${jobId}:lock`),
          this.keys.toKey(queue, 'active'),
          this.keys.toKey(queue, 'stalled'),
        ],
        [token, jobId, this.options.lockMs],
      );
      state = reply === 1 ? 'held' : reply === 2 ? 'reclaimed' : 'lost';
    } catch (err) {
      this.options.logger.error(
        { jobId, err: (err as Error).message },
        'reclaiming a job lock failed',
      );
      return 'held';
    }
    if (state === 'reclaimed') {
      this.options.count?.('lock-reclaimed');
      this.options.logger.info({ jobId }, 'job lock reclaimed after it expired (Redis stall)');
    } else if (state === 'lost') this.options.count?.('lock-lost');
    return state;
  }

  private async keptAnswer(queue: string, jobId: string): Promise<CheckJobResult | undefined> {
    const text = await this.options.redis.hget(this.keys.toKey(queue, jobId), KEPT_ANSWER_FIELD);
    if (!text) return undefined;
    try {
      return JSON.parse(text) as CheckJobResult;
    } catch {
      return undefined;
    }
  }
}

/** Whether a processor's error says it already moved its job (BullMQ's move errors). */
function isMoved(err: unknown): boolean {
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'DelayedError' || name === 'WaitingError' || name === 'WaitingChildrenError';
}
