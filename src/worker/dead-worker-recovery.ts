/**
 * Gives the checks of a worker process that died (kill -9, OOM kill, a lost container) back to
 * the queue within about `deadAfterMs`, instead of BullMQ's lock expiry plus stalled interval
 * (10 s + 5 s by default), which is what kept a front desk waiting after a crash.
 *
 * The liveness signal is the process's Redis connections, not a heartbeat. When a process dies its
 * kernel closes its sockets and Redis drops those clients at once; a live process whose event loop
 * stalls (a long GC, CPU starvation, even SIGSTOP) keeps them open however long the stall. So a
 * short `deadAfterMs` is safe where a short BullMQ lock is not: a lock must be renewed by the event
 * loop, and a stalled one would lose it and see its check run twice.
 *
 * A worker process, named `<host>:<pid>:<random>`, goes through these states, kept in one Redis
 * hash per queue prefix, `<prefix>:eq:workers` (name -> when last seen, by Redis's clock):
 *
 *  registered  it names every connection `…:<name>` (BullMQ's blocking ones `…:w:<name>`) and
 *              writes itself in, seen now, before it takes a job (again after every reconnect)
 *  seen        each check that finds one of its connections among Redis's clients writes now
 *  dead        not seen for `deadAfterMs`, by a checker that has itself been connected longer than
 *              ioredis's longest reconnect delay, so after a Redis restart every live process has
 *              had time to reconnect before anyone is judged
 *  recovered   each active job whose last activation was its (BullMQ's processedBy) loses its lock
 *              and is marked stalled, and the stalled check runs at once: BullMQ moves the job
 *              back to wait and counts the stall (WORKER_MAX_STALLED_COUNT). Then it leaves the
 *              registry, unless it wrote itself in again meanwhile.
 *
 * A machine that vanishes without closing its sockets (power loss) stays listed until Redis's TCP
 * keepalive drops it: its checks come back by BullMQ's lock expiry, as without this.
 * One process per interval does the check (SET NX PX), so CLIENT LIST runs a few times a second
 * whatever the number of workers. A Stedi call the dead process had started keeps its semaphore
 * slot until call start + Stedi's bound, so a check re-run at once never exceeds the allocation.
 */
import { QueueKeys } from 'bullmq';
import type { Redis } from 'ioredis';

/** One BullMQ queue whose checks the recovery gives back. */
export interface RecoverableQueue {
  /** The queue's name (under `prefix`). */
  readonly name: string;
  /** Runs BullMQ's stalled check now (Worker.startStalledCheckTimer). */
  checkStalledNow(): Promise<void>;
}

/** Settings of the recovery. */
export interface DeadWorkerRecoveryOptions {
  readonly redis: Pick<Redis, 'set' | 'client' | 'time' | 'hgetall' | 'hset' | 'eval'>;
  /** The queue prefix (QUEUE_PREFIX): one registry per deployment. */
  readonly prefix: string;
  /** This process's name; its connections' names end with `:<name>`. */
  readonly processName: string;
  /** A process none of whose connections was seen for this long is dead, in ms. */
  readonly deadAfterMs: number;
  /** How often some process checks, in ms. */
  readonly checkEveryMs: number;
  readonly queues: readonly RecoverableQueue[];
  /** A dead process's checks went back to the queue (`checks` of them). */
  readonly onRecovered?: (process: string, checks: number) => void;
  /** Errors of the background check (it goes on at the next interval). */
  readonly onError: (err: Error) => void;
  readonly now?: () => number;
}

/**
 * ioredis's default retry strategy waits at most 2 s between reconnect attempts: after a Redis
 * restart every live process is back within that (plus a margin), so a checker connected for less
 * may not judge who is missing.
 */
export const RECONNECT_ALLOWANCE_MS = 2_500;

/** What one look at Redis's clients says about the registered processes. */
export interface LivenessVerdict {
  /** Seen now: their last-seen time becomes now. */
  readonly seen: readonly string[];
  /** Not seen for deadAfterMs or more. */
  readonly dead: readonly string[];
}

/** Judges the registered processes from the names of Redis's clients (pure, for tests). */
export function judgeLiveness(
  view: {
    /** Registered processes and when each was last seen (Redis's clock, ms). */
    readonly lastSeen: ReadonlyMap<string, number>;
    readonly clientNames: readonly string[];
    readonly now: number;
  },
  deadAfterMs: number,
): LivenessVerdict {
  const seen: string[] = [];
  const dead: string[] = [];
  for (const [name, at] of view.lastSeen) {
    if (view.clientNames.some((c) => c.endsWith(`:${name}`))) seen.push(name);
    else if (view.now - at >= deadAfterMs) dead.push(name);
  }
  return { seen, dead };
}

// Takes the lock of each active job the dead process activated last, and marks it stalled, so
// BullMQ's next stalled check (run at once: the throttle key goes) moves it back to wait.
const releaseJobsScript = `
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
local n = 0
for _, id in ipairs(ids) do
  local jobKey = ARGV[1] .. id
  if redis.call('HGET', jobKey, 'pb') == ARGV[2] then
    redis.call('DEL', jobKey .. ':lock')
    redis.call('SADD', KEYS[2], id)
    n = n + 1
  end
end
if n > 0 then redis.call('DEL', KEYS[3]) end
return n`;

// Removes a recovered process from the registry unless it wrote itself in again meanwhile.
const unregisterScript = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end`;

/** The registry of worker processes and the check that recovers the dead ones' checks. */
export class DeadWorkerRecovery {
  private readonly registryKey: string;
  private readonly turnKey: string;
  private readonly queueKeys: QueueKeys;
  private readonly now: () => number;
  private connectedSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: DeadWorkerRecoveryOptions) {
    this.registryKey = `${options.prefix}:eq:workers`;
    this.turnKey = `${options.prefix}:eq:workers:check`;
    this.queueKeys = new QueueKeys(options.prefix);
    this.now = options.now ?? Date.now;
  }

  /** Writes this process into the registry; call on every (re)connect, before taking jobs. */
  async register(): Promise<void> {
    this.connectedSince = this.now();
    await this.options.redis.hset(
      this.registryKey,
      this.options.processName,
      await this.redisNow(),
    );
  }

  /** The connection dropped: this process may not judge others until it has been back a while. */
  disconnected(): void {
    this.connectedSince = undefined;
  }

  /** Checks every `checkEveryMs` until closed; never two checks at once. */
  start(): void {
    if (this.closed || this.timer) return;
    const tick = () => {
      this.running = this.checkIfOurTurn()
        .then(
          () => undefined,
          (err: unknown) =>
            this.options.onError(err instanceof Error ? err : new Error(String(err))),
        )
        .finally(() => {
          this.running = undefined;
          if (!this.closed) this.timer = setTimeout(tick, this.options.checkEveryMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.options.checkEveryMs).unref();
  }

  /** Runs one check if no other process has this interval's turn; returns the processes recovered. */
  async checkIfOurTurn(): Promise<string[]> {
    const turn = await this.options.redis.set(
      this.turnKey,
      this.options.processName,
      'PX',
      this.options.checkEveryMs,
      'NX',
    );
    return turn === 'OK' ? this.checkOnce() : [];
  }

  /** One check: notes who is seen, judges who is not, recovers the dead. */
  async checkOnce(): Promise<string[]> {
    if (
      this.connectedSince === undefined ||
      this.now() - this.connectedSince < RECONNECT_ALLOWANCE_MS
    )
      return [];
    const { redis } = this.options;
    const [clients, now, registry] = await Promise.all([
      redis.client('LIST') as Promise<string>,
      this.redisNow(),
      redis.hgetall(this.registryKey),
    ]);
    const lastSeen = new Map(Object.entries(registry).map(([k, v]) => [k, Number(v)]));
    const verdict = judgeLiveness(
      { lastSeen, clientNames: clientNames(clients), now },
      this.options.deadAfterMs,
    );
    if (verdict.seen.length)
      await redis.hset(this.registryKey, Object.fromEntries(verdict.seen.map((n) => [n, now])));
    const recovered: string[] = [];
    for (const name of verdict.dead) {
      await this.recover(name, lastSeen.get(name) ?? 0);
      recovered.push(name);
    }
    return recovered;
  }

  /** Stops checking and waits for a check in flight. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async recover(name: string, lastSeen: number): Promise<void> {
    let checks = 0;
    for (const queue of this.options.queues) {
      const key = (type: string) => this.queueKeys.toKey(queue.name, type);
      const n = Number(
        await this.options.redis.eval(
          releaseJobsScript,
          3,
          key('active'),
          key('stalled'),
          key('stalled-check'),
          key(''),
          name,
        ),
      );
      if (n > 0) {
        checks += n;
        // If this process's BullMQ worker is closing, the others' stalled checks run within
        // their interval: the throttle key is gone.
        await queue.checkStalledNow();
      }
    }
    await this.options.redis.eval(unregisterScript, 1, this.registryKey, name, lastSeen);
    this.options.onRecovered?.(name, checks);
  }

  private async redisNow(): Promise<number> {
    const [seconds, micros] = await this.options.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}

/** The `name=` of each client in a CLIENT LIST reply. */
function clientNames(list: string): string[] {
  const names: string[] = [];
  for (const line of list.split('\n')) {
    const m = / name=(\S*)/.exec(line);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}
