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
  const view = (o: { missing?: [string, number][]; clients?: string[] }) => ({
    registered: ['h:1:aaaa', 'h:2:bbbb'],
    missingSince: new Map(o.missing ?? []),
    clientNames: o.clients ?? [],
    now: 10_000,
  });

  it('marks a registered process none of whose connections is seen as missing', () => {
    const v = judgeLiveness(view({ clients: ['eq-worker:h:1:aaaa'] }), 1_000);
    expect(v).toEqual({ missing: ['h:2:bbbb'], back: [], dead: [] });
  });

  it('counts any connection named …:<name> (BullMQ names its own …:w:<name>), and only a suffix', () => {
    const v = judgeLiveness(
      view({ clients: ['bull:ZWxp:w:h:1:aaaa', 'eq-worker:h:2:bbbbX', 'h:2:bbbb-other'] }),
      1_000,
    );
    expect(v.missing).toEqual(['h:2:bbbb']);
  });

  it('judges a process dead once missing for deadAfterMs, not before', () => {
    const clients = ['eq-worker:h:1:aaaa'];
    expect(judgeLiveness(view({ clients, missing: [['h:2:bbbb', 9_001]] }), 1_000).dead).toEqual(
      [],
    );
    expect(judgeLiveness(view({ clients, missing: [['h:2:bbbb', 9_000]] }), 1_000).dead).toEqual([
      'h:2:bbbb',
    ]);
  });

  it('clears the mark of a process seen again, and of one no longer registered', () => {
    const v = judgeLiveness(
      view({
        clients: ['eq-worker:h:1:aaaa', 'eq-worker-hints:h:2:bbbb'],
        missing: [
          ['h:2:bbbb', 1],
          ['h:9:gone', 1],
        ],
      }),
      1_000,
    );
    expect(v).toEqual({ missing: [], back: ['h:9:gone', 'h:2:bbbb'], dead: [] });
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

  /** A queue's keys as BullMQ lays them out, and a count of stalled checks asked for. */
  function queue(): RecoverableQueue & { checks: number } {
    const q = `${prefix}:eligibility-realtime`;
    const out = {
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
    await redis.hset(`${prefix}:eq:workers`, 'h:2:dead', 1);
    await redis.hset(`${prefix}:eq:workers`, 'h:3:live', 1);
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
    expect(await r.checkOnce()).toEqual([]); // marks h:2:dead missing
    expect(await redis.hexists(`${prefix}:eq:workers:missing`, 'h:2:dead')).toBe(1);
    expect(await redis.hexists(`${prefix}:eq:workers:missing`, 'h:3:live')).toBe(0);
    await new Promise((res) => setTimeout(res, 150)); // Redis's clock passes deadAfterMs
    expect(await r.checkOnce()).toEqual(['h:2:dead']);

    expect(await redis.exists(`${q.keys.jobPrefix}rt_a:lock`)).toBe(0);
    expect(await redis.smembers(q.keys.stalled)).toEqual(['rt_a']);
    expect(await redis.exists(q.keys.stalledCheck)).toBe(0);
    expect(q.checks).toBe(1);
    expect(await redis.get(`${q.keys.jobPrefix}rt_b:lock`)).toBe('token-b');
    expect((await redis.hkeys(`${prefix}:eq:workers`)).sort()).toEqual(['h:1:checker', 'h:3:live']);
    expect(await redis.hlen(`${prefix}:eq:workers:missing`)).toBe(0);
  });

  it('judges nobody while the checker has been connected for less than the reconnect allowance', async () => {
    const q = queue();
    let t = 0;
    const r = recovery(q, () => t, 0);
    await r.register();
    await redis.hset(`${prefix}:eq:workers`, 'h:2:away', 1);
    t = RECONNECT_ALLOWANCE_MS - 1;
    expect(await r.checkOnce()).toEqual([]);
    expect(await redis.hlen(`${prefix}:eq:workers:missing`)).toBe(0);
    // After a drop and a reconnect, the wait starts again.
    t = RECONNECT_ALLOWANCE_MS;
    r.disconnected();
    expect(await r.checkOnce()).toEqual([]);
    await r.register();
    t += RECONNECT_ALLOWANCE_MS;
    await r.checkOnce(); // marks h:2:away missing
    expect(await r.checkOnce()).toEqual(['h:2:away']);
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
