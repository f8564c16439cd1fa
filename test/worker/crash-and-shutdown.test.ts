import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { QueueKeys, Worker } from 'bullmq';
import { queueNames } from '../../src/shared/queues.js';
import { DynamoSemaphoreStore } from '../../src/shared/semaphore/index.js';
import { AcquireAbortedError } from '../../src/shared/errors/acquire-aborted-error.js';
import { RECONNECT_ALLOWANCE_MS } from '../../src/worker/dead-worker-recovery.js';
import type { CheckJob } from '../../src/shared/check-queues.js';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import { exited } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { until } from '../support/until.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await env?.close();
  env = undefined;
});

async function holders(e: WorkerEnv): Promise<number> {
  const client = createDynamoClient({ endpoint: e.config.DYNAMODB_ENDPOINT, region: 'us-east-1' });
  const records = await new DynamoSemaphoreStore(client, e.config.SEMAPHORE_TABLE).listSlots(
    e.config.SEMAPHORE_NAME,
  );
  client.destroy();
  return records.filter((r) => r.owner !== undefined).length;
}

describe('worker: crash safety', () => {
  it('after kill -9 mid-call, another worker re-runs the check, but only once the Stedi bound has passed', async () => {
    const boundMs = 2_000;
    env = await workerEnv(
      { STEDI_CONCURRENCY: '1', STEDI_REALTIME_RESERVED: '0', STEDI_TIMEOUT_MS: String(boundMs) },
      { concurrency: 1, latency: { medianMs: 1_500, sigma: 0, maxMs: 5_000 } },
    );
    const a = env.spawnWorker();
    const job = await env.queues.add('realtime', checkRequest());
    await until(() => env!.simulator.stats().inFlight === 1);
    const firstCallAt = Date.now();
    a.kill('SIGKILL');
    await exited(a);
    await env.startWorker();
    expect(await env.waitFor(job)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    const secondCallAfter = (done?.returnvalue.callStartedAt ?? 0) - firstCallAt;
    expect(secondCallAfter).toBeGreaterThanOrEqual(boundMs);
    expect(secondCallAfter).toBeLessThan(boundMs + 3_500);
    const stats = env.simulator.stats();
    expect(stats.rejected429).toBe(0);
    expect(stats.maxInFlight).toBe(1);
  });
});

/** Spawns `n` workers and waits until each has registered long enough ago to judge the others. */
async function judgingWorkers(e: WorkerEnv, n: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: n }, () => e.spawnWorker());
  const registry = `${e.config.QUEUE_PREFIX}:eq:workers`;
  const deadline = Date.now() + 20_000;
  while ((await e.redis.hlen(registry)) < n) {
    if (Date.now() > deadline) throw new Error('workers did not register');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, RECONNECT_ALLOWANCE_MS + 300));
  return children;
}

/** The child whose BullMQ worker took `job` (its processedBy starts host:pid). */
async function takerOf(
  e: WorkerEnv,
  job: CheckJob,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const active = await e.queues.get(job.id ?? '');
  const pid = active?.processedBy?.split(':')[1];
  const child = children.find((c) => String(c.pid) === pid);
  if (!child) throw new Error(`no child took ${job.id} (processedBy ${active?.processedBy})`);
  return child;
}

describe('worker: a dead worker process is noticed by its Redis connections', () => {
  // Locks and stalled checks far longer than the recovery: BullMQ alone would need >= 10 s.
  const slowBullmq = {
    WORKER_LOCK_MS: '20000',
    WORKER_STALLED_INTERVAL_MS: '10000',
    WORKER_DEAD_AFTER_MS: '1000',
    WORKER_LIVENESS_CHECK_MS: '250',
  };

  it('re-runs the check of a worker killed mid-call within about WORKER_DEAD_AFTER_MS, not after its lock', async () => {
    env = await workerEnv(
      {
        STEDI_CONCURRENCY: '2',
        STEDI_REALTIME_RESERVED: '0',
        STEDI_TIMEOUT_MS: '10000',
        ...slowBullmq,
      },
      { concurrency: 2, latency: { medianMs: 3_000, sigma: 0, maxMs: 10_000 } },
    );
    const children = await judgingWorkers(env, 2);
    const job = await env.queues.add('realtime', checkRequest());
    await until(() => env!.simulator.stats().inFlight === 1);
    const victim = await takerOf(env, job, children);
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    await until(() => env!.simulator.stats().requests === 2, 30_000);
    const rerunAfterMs = Date.now() - killedAt;
    // About 0.75 to 1.25 s here (dead after 1 s, a check every 250 ms); 4 s leaves room for a loaded
    // machine. Without the liveness signal: the lock's remaining 10 to 20 s, then the check.
    expect(rerunAfterMs).toBeLessThan(4_000);
    expect(await env.waitFor(job)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.stalledCounter).toBe(1);
    const stats = env.simulator.stats();
    expect(stats.maxInFlight).toBeLessThanOrEqual(2);
    expect(stats.rejected429).toBe(0);
  });

  it('leaves the check of a live worker frozen for 3 s (SIGSTOP) with it: one call, no re-run', async () => {
    env = await workerEnv(
      {
        STEDI_CONCURRENCY: '2',
        STEDI_REALTIME_RESERVED: '0',
        STEDI_TIMEOUT_MS: '10000',
        ...slowBullmq,
        WORKER_LOCK_MS: '10000',
        WORKER_STALLED_INTERVAL_MS: '5000',
      },
      { concurrency: 2, latency: { medianMs: 5_000, sigma: 0, maxMs: 10_000 } },
    );
    const children = await judgingWorkers(env, 2);
    const job = await env.queues.add('realtime', checkRequest());
    await until(() => env!.simulator.stats().inFlight === 1);
    const frozen = await takerOf(env, job, children);
    // A stall three times WORKER_DEAD_AFTER_MS: its sockets stay open, so it is not taken for
    // dead; a heartbeat would have lapsed. The 10 s lock (renewed every 2.5 to 5 s) outlasts it.
    frozen.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 3_000));
    frozen.kill('SIGCONT');
    expect(await env.waitFor(job)).toBe('completed');
    const done = await env.queues.get(job.id ?? '');
    expect(done?.stalledCounter).toBe(0);
    expect(done?.processedBy?.split(':')[1]).toBe(String(frozen.pid));
    expect(env.simulator.stats().requests).toBe(1);
  });

  it('does not call Stedi for a check another run took while it waited for a slot', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '1', STEDI_REALTIME_RESERVED: '0', STEDI_TIMEOUT_MS: '5000' },
      { concurrency: 1, latency: { medianMs: 3_000, sigma: 0, maxMs: 5_000 } },
    );
    await env.startWorker({ WORKER_REALTIME_CONCURRENCY: '2' });
    const first = await env.queues.add('realtime', checkRequest('SIM0000001'));
    await until(() => env!.simulator.stats().inFlight === 1);
    const second = await env.queues.add('realtime', checkRequest('SIM0000002'));
    await env.waitFor(second, ['active']);
    // As when this worker lost the lock (an event-loop stall past it, or taken for dead) and
    // another run got the check: the lock is that run's now.
    const keys = new QueueKeys(env.config.QUEUE_PREFIX);
    const lock = `${keys.toKey(queueNames.realtime, second.id ?? '')}:lock`;
    await env.redis.set(lock, 'another-worker:1', 'PX', 60_000);
    // Taken while the second check still waited for the slot (the first call takes 3 s).
    expect(env.simulator.stats().requests).toBe(1);
    expect(await env.waitFor(first)).toBe('completed');
    // The slot went to the second check's run, which found its check gone: no call.
    await new Promise((r) => setTimeout(r, 500));
    expect(env.simulator.stats().requests).toBe(1);
    expect(await second.getState()).toBe('active');
    // The other run's lock ends without it finishing: the stalled check gives the check back.
    await env.redis.del(lock);
    expect(await env.waitFor(second)).toBe('completed');
    expect(env.simulator.stats().requests).toBe(2);
    expect((await env.queues.get(second.id ?? ''))?.stalledCounter).toBe(1);
  });
});

describe('worker: graceful shutdown', () => {
  it('on SIGTERM finishes the running call, releases its slot and exits 0', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 2, latency: { medianMs: 800, sigma: 0, maxMs: 5_000 } },
    );
    const child = env.spawnWorker();
    const job = await env.queues.add('realtime', checkRequest());
    await until(() => env!.simulator.stats().inFlight === 1);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(await job.getState()).toBe('completed');
    expect(await holders(env)).toBe(0);
  });

  it('on a second signal exits at once, leaving the check to be recovered', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 2, latency: { medianMs: 3_000, sigma: 0, maxMs: 5_000 } },
    );
    const child = env.spawnWorker();
    const job = await env.queues.add('realtime', checkRequest());
    await until(() => env!.simulator.stats().inFlight === 1);
    const t0 = Date.now();
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(130);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(await job.getState()).toBe('active');
  });

  it('closes the semaphore and its Redis connections even when a BullMQ worker fails to close', async () => {
    env = await workerEnv(
      { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
      { concurrency: 2, latency: { medianMs: 20, sigma: 0, maxMs: 1_000 } },
    );
    // The worker's connections are named after its process; other test files' workers share
    // this Redis, so only the names that appear with this worker are its own.
    const names = async () =>
      new Set(
        ((await env!.redis.client('LIST')) as string)
          .split('\n')
          .map((line) => / name=(eq-worker\S*)/.exec(line)?.[1])
          .filter((n): n is string => n !== undefined),
      );
    const before = await names();
    const app = await env.startWorker();
    const job = await env.queues.add('realtime', checkRequest());
    expect(await env.waitFor(job)).toBe('completed');
    const ours = [...(await names())].filter((n) => !before.has(n));
    const named = async () => {
      const now = await names();
      return ours.filter((n) => now.has(n)).length;
    };
    expect(ours.length).toBeGreaterThan(0);
    // Each BullMQ worker really closes, then says it failed.
    const realClose = Object.getOwnPropertyDescriptor(Worker.prototype, 'close')?.value as (
      this: Worker,
      force?: boolean,
    ) => Promise<void>;
    vi.spyOn(Worker.prototype, 'close').mockImplementation(async function (this: Worker, force) {
      await realClose.call(this, force);
      throw new Error('close failed');
    });
    await expect(app.stop()).resolves.toBeUndefined();
    // Closed: an acquire is refused at once.
    await expect(app.semaphore.semaphore.acquire({ pool: 'batch' })).rejects.toBeInstanceOf(
      AcquireAbortedError,
    );
    for (let tries = 0; (await named()) > 0; tries++) {
      if (tries > 250) throw new Error('the worker left Redis connections open');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
