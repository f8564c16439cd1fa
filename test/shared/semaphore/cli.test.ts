import { describe, expect, inject, it } from 'vitest';
import { createDynamoClient } from '../../../src/shared/clients/dynamodb.js';
import { DynamoSemaphoreStore } from '../../../src/shared/semaphore/index.js';
import { exited, spawnTs } from '../../support/children.js';
import { uniqueName } from '../../support/names.js';

const table = uniqueName('cli');
const name = uniqueName('acct');
const env = {
  DYNAMODB_ENDPOINT: inject('dynamoEndpoint'),
  SEMAPHORE_TABLE: table,
  SEMAPHORE_NAME: name,
  STEDI_CONCURRENCY: '3',
  STEDI_REALTIME_RESERVED: '1',
  // Slot 2 is the floor, never lent to batch: the status shows it as reserved.
  STEDI_REALTIME_FLOOR: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

async function cli(...args: string[]): Promise<{ code: number | string; out: string }> {
  const child = spawnTs(
    new URL('../../../src/shared/semaphore/cli.ts', import.meta.url),
    args,
    env,
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { code: await exited(child), out };
}

describe('npm run semaphore', () => {
  it('creates the table, shows holders, and force-releases only reclaimable slots', async () => {
    expect((await cli('create-table')).code).toBe(0);
    expect((await cli('status')).out).toContain('no holders');

    const client = createDynamoClient({ endpoint: env.DYNAMODB_ENDPOINT, region: 'us-east-1' });
    const store = new DynamoSemaphoreStore(client, table);
    const now = Date.now();
    const anyCut = { leaseEndedBefore: 0, callStartedBefore: 0 };
    await store.claim(
      name,
      0,
      { owner: 'live-worker', pool: 'batch', now, leaseUntil: now + 60_000 },
      anyCut,
    );
    await store.claim(
      name,
      2,
      { owner: 'dead-worker', pool: 'realtime', now: now - 10_000, leaseUntil: now - 5_000 },
      anyCut,
    );

    const status = await cli('status');
    expect(status.out).toMatch(/slot {3}0 shared {3}batch/);
    expect(status.out).toMatch(/slot {3}2 reserved realtime.*RECLAIMABLE.*dead-worker/);
    const json = JSON.parse((await cli('status', '--json')).out) as {
      heldByPool: Record<string, number>;
      free: number;
    };
    expect(json.heldByPool).toEqual({ realtime: 0, batch: 1 });

    expect((await cli('force-release', '0')).code).toBe(2);
    expect((await cli('force-release', '2')).code).toBe(0);
    const left = (await store.listSlots(name))
      .filter((r) => r.owner !== undefined)
      .map((r) => r.owner);
    expect(left).toEqual(['live-worker']);
    client.destroy();
  });
});
