import { afterEach, describe, expect, it } from 'vitest';
import { DynamoSemaphoreStore } from '../../src/shared/semaphore/index.js';
import { createDynamoClient } from '../../src/shared/clients/dynamodb.js';
import { exited } from '../support/children.js';
import { checkRequest } from '../support/fixtures.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let env: WorkerEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

async function until(check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

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
});
