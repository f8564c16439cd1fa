/**
 * The dead-worker protocol step by step (checkOnce), against real Redis: who counts as missing,
 * when a missing process is dead, what its recovery touches, and that a checker that has just
 * (re)connected judges nobody. The end-to-end runs (kill -9, SIGSTOP) are in crash-and-shutdown.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Redis } from 'ioredis';
import {
  DeadWorkerRecovery,
  RECONNECT_ALLOWANCE_MS,
  judgeLiveness,
  type RecoverableQueue,
} from '../../src/worker/dead-worker-recovery.js';
import { uniqueName } from '../support/names.js';

describe('judgeLiveness', () => {
  const view = (clients: string[], lastSeen: [string, number][] = []) => ({
    lastSeen: new Map<string, number>([['h:1:aaaa', 9_900], ['h:2:bbbb', 9_900], ...lastSeen]),
    clientNames: clients,
    now: 10_000,
  });

  it('notes a process seen when any connection is named …:<name> (BullMQ names its own …:w:<name>)', () => {
    const v = judgeLiveness(view(['bull:ZWxp:w:h:1:aaaa', 'eq-worker-hints:h:2:bbbb']), 1_000);
    expect(v).toEqual({ seen: ['h:1:aaaa', 'h:2:bbbb'], dead: [] });
  });

  it('matches the name as a suffix only', () => {
    const v = judgeLiveness(view(['eq-worker:h:1:aaaaX', 'h:1:aaaa-other']), 1_000);
    expect(v.seen).toEqual([]);
  });

  it('judges a process dead once unseen for deadAfterMs, not before', () => {
    const clients = ['eq-worker:h:1:aaaa'];
    expect(judgeLiveness(view(clients, [['h:2:bbbb', 9_001]]), 1_000).dead).toEqual([]);
    expect(judgeLiveness(view(clients, [['h:2:bbbb', 9_000]]), 1_000).dead).toEqual(['h:2:bbbb']);
  });
});

describe('DeadWorkerRecovery.checkOnce (real Redis)', () => {
  let redis: Redis;
  let live: Redis | undefined;
  let prefix: string;
  beforeEach(() => {
    // The checker's own connection, named as a worker's are.
    redis = new Redis(inject('redisUrl'), { connectionName: 'eq-worker:h:1:checker' });
    prefix = uniqueName('q');
  });
  afterEach(() => {
    redis.disconnect();
    live?.disconnect();
    live = undefined;
  });

  /** A queue, its keys as BullMQ lays them out, and a count of stalled checks asked for. */
  function queue() {
    const q = `${prefix}:eligibility-realtime`;
    const out = {
      name: 'eligibility-realtime',
      keys: {
        active: `${q}:active`,
        stalled: `${q}:stalled`,
        stalledCheck: `${q}:stalled-check`,
        jobPrefix: `${q}:`,
      },
      checks: 0,
      checkStalledNow: async () => {
        out.checks++;
      },
    };
    return out;
  }

  function recovery(q: RecoverableQueue, now: () => number, deadAfterMs = 100) {
    return new DeadWorkerRecovery({
      redis,
      prefix,
      processName: 'h:1:checker',
      deadAfterMs,
      checkEveryMs: 250,
      queues: [q],
      onError: (err) => {
        throw err;
      },
      now,
    });
  }

  it('releases the locks of the jobs a dead process had active, marks them stalled, asks for the check', async () => {
    const q = queue();
    let t = 0;
    const r = recovery(q, () => t);
    await r.register(); // the checker itself, connected since t = 0
    // Last seen long ago by Redis's clock: one has no connection any more, one has.
    await redis.hset(`${prefix}:eq:workers`, 'h:2:dead', 1, 'h:3:live', 1);
    live = new Redis(inject('redisUrl'), { connectionName: 'eq-worker:h:3:live' });
    await live.ping();
    // Two active jobs: one last activated by the dead process, one by the live one.
    await redis.rpush(q.keys.active, 'rt_a', 'rt_b');
    await redis.hset(`${q.keys.jobPrefix}rt_a`, 'pb', 'h:2:dead');
    await redis.hset(`${q.keys.jobPrefix}rt_b`, 'pb', 'h:3:live');
    await redis.set(`${q.keys.jobPrefix}rt_a:lock`, 'token-a');
    await redis.set(`${q.keys.jobPrefix}rt_b:lock`, 'token-b');
    await redis.set(q.keys.stalledCheck, '1', 'PX', 60_000);

    t = RECONNECT_ALLOWANCE_MS;
    expect(await r.checkOnce()).toEqual(['h:2:dead']);

    expect(await redis.exists(`${q.keys.jobPrefix}rt_a:lock`)).toBe(0);
    expect(await redis.smembers(q.keys.stalled)).toEqual(['rt_a']);
    expect(await redis.exists(q.keys.stalledCheck)).toBe(0);
    expect(q.checks).toBe(1);
    expect(await redis.get(`${q.keys.jobPrefix}rt_b:lock`)).toBe('token-b');
    expect((await redis.hkeys(`${prefix}:eq:workers`)).sort()).toEqual(['h:1:checker', 'h:3:live']);
    // Seen now: not judged again for deadAfterMs.
    expect(Number(await redis.hget(`${prefix}:eq:workers`, 'h:3:live'))).toBeGreaterThan(1);
    expect(await r.checkOnce()).toEqual([]);
  });

  it('judges nobody while the checker has been connected for less than the reconnect allowance', async () => {
    const q = queue();
    let t = 0;
    const r = recovery(q, () => t);
    await r.register();
    await redis.hset(`${prefix}:eq:workers`, 'h:2:away', 1);
    t = RECONNECT_ALLOWANCE_MS - 1;
    expect(await r.checkOnce()).toEqual([]);
    // After a drop and a reconnect, the wait starts again.
    t = RECONNECT_ALLOWANCE_MS;
    r.disconnected();
    expect(await r.checkOnce()).toEqual([]);
    await r.register();
    t += RECONNECT_ALLOWANCE_MS - 1;
    expect(await r.checkOnce()).toEqual([]);
    t += 1;
    expect(await r.checkOnce()).toEqual(['h:2:away']);
  });

  it('keeps a process that wrote itself in again while it was being recovered', async () => {
    const q = queue();
    let t = 0;
    const r = recovery(q, () => t);
    await r.register();
    await redis.hset(`${prefix}:eq:workers`, 'h:2:back', 1);
    // It reconnects (and registers) while its jobs are being given back.
    q.checkStalledNow = async () => {
      await redis.hset(`${prefix}:eq:workers`, 'h:2:back', 2);
    };
    await redis.rpush(q.keys.active, 'rt_c');
    await redis.hset(`${q.keys.jobPrefix}rt_c`, 'pb', 'h:2:back');
    t = RECONNECT_ALLOWANCE_MS;
    expect(await r.checkOnce()).toEqual(['h:2:back']);
    expect(await redis.hget(`${prefix}:eq:workers`, 'h:2:back')).toBe('2');
  });

  it('gives one process the check per interval', async () => {
    const q = queue();
    let lists = 0;
    const client = redis.client.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    const counting = Object.assign(Object.create(redis) as Redis, {
      client: ((...args: unknown[]) => {
        lists++;
        return client(...args);
      }) as Redis['client'],
    });
    const make = () =>
      new DeadWorkerRecovery({
        redis: counting,
        prefix,
        processName: 'h:1:checker',
        deadAfterMs: 100,
        checkEveryMs: 500,
        queues: [q],
        onError: (err) => {
          throw err;
        },
        now: () => t,
      });
    let t = 0;
    const [b, c] = [make(), make()];
    await Promise.all([b.register(), c.register()]);
    t = RECONNECT_ALLOWANCE_MS;
    await Promise.all([b.checkIfOurTurn(), c.checkIfOurTurn(), b.checkIfOurTurn()]);
    expect(lists).toBe(1);
  });
});
