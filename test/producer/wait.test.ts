import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest } from '../support/fixtures.js';
import { producerEnv, type ProducerEnv } from '../support/producer-env.js';
import { workerEnv, type WorkerEnv } from '../support/worker-env.js';

let w: WorkerEnv;
let p: ProducerEnv;
beforeAll(async () => {
  w = await workerEnv(
    { STEDI_CONCURRENCY: '2', STEDI_REALTIME_RESERVED: '1' },
    { concurrency: 2, latency: { medianMs: 50, sigma: 0, maxMs: 2_000 } },
  );
  p = await producerEnv({
    ...w.deployment,
  });
  await w.startWorker();
});
afterAll(async () => {
  await p.close();
  await w.close();
});

describe('producer with workers: ?wait', () => {
  it('answers 200 with the Stedi result when the check finishes within wait', async () => {
    const res = await p.call('/v1/eligibility?wait=10', {
      method: 'POST',
      body: JSON.stringify({ request: checkRequest() }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      result: { meta: { traceId: string } };
      attempts: number;
    };
    expect(body.status).toBe('completed');
    expect(body.result.meta.traceId).toEqual(expect.any(String));
    expect(body.attempts).toBe(1);
  });

  it('answers 200 with the failure reason when the check fails within wait', async () => {
    const res = await p.call('/v1/eligibility?wait=10', {
      method: 'POST',
      body: JSON.stringify({ request: checkRequest('X1', 'NOPAYER') }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'failed',
      failureReason: expect.stringContaining('code 33'),
    });
  });

  it('answers 202 without waiting when wait=0, and refuses a wait beyond the bound', async () => {
    const slow = await p.call('/v1/eligibility?wait=0', {
      method: 'POST',
      body: JSON.stringify({ request: checkRequest() }),
    });
    expect(slow.status).toBe(202);
    const tooLong = await p.call('/v1/eligibility?wait=999', {
      method: 'POST',
      body: JSON.stringify({ request: checkRequest() }),
    });
    expect(tooLong.status).toBe(400);
  });
});
