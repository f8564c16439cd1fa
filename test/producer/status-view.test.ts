/** The status page's slot rows: a worker's note labels a slot only while its lease holds it. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CheckQueues } from '../../src/shared/check-queues.js';
import { loadConfig } from '../../src/shared/config.js';
import { generateDataKeySpec } from '../../src/shared/crypto/data-cipher.js';
import { configuredLimits } from '../../src/shared/scheduling/limits.js';
import type { HolderView, SemaphoreStatus } from '../../src/shared/semaphore/index.js';
import { SlotNotes } from '../../src/shared/status/slot-notes.js';
import { readStatus } from '../../src/producer/status/status-view.js';
import { uniqueName } from '../support/names.js';

let redis: Redis;
let queues: CheckQueues;
const config = () =>
  loadConfig({
    REDIS_URL: inject('redisUrl'),
    QUEUE_PREFIX: uniqueName('q'),
    DATA_ENCRYPTION_KEYS: generateDataKeySpec(),
    STEDI_CONCURRENCY: '4',
  });

beforeAll(() => {
  redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await queues?.close();
  redis?.disconnect();
});

const holder = (slot: number, owner: string, extra: Partial<HolderView> = {}): HolderView => ({
  slot,
  slotKind: 'shared',
  pool: 'batch',
  owner,
  ageMs: 1_000,
  leaseExpiresInMs: 4_000,
  callStartedAt: undefined,
  claimableInMs: 90_000,
  reclaimable: false,
  outsideAllocation: false,
  ...extra,
});

describe('status view', () => {
  it('labels slots from notes whose lease still holds them, and tells free, held, reclaimable and outside slots apart', async () => {
    const c = config();
    queues = CheckQueues.fromConfig(redis, c);
    const now = 1_800_000_000_000;
    const notes = new SlotNotes(redis, c.QUEUE_PREFIX, 'acct', 60_000);
    const note = {
      pool: 'batch' as const,
      tenant: 'clinic',
      checkId: 'bt_1',
      callStartedAt: now - 2_500,
    };
    await notes.record({ ...note, slot: 0, owner: 'w1:1', payer: '87726' });
    // Written under a lease that no longer holds slot 1: a stale label.
    await notes.record({ ...note, slot: 1, owner: 'w1:old', payer: '60054' });
    const semaphore: SemaphoreStatus = {
      name: 'acct',
      capacity: 4,
      realtimeReserved: 1,
      realtimeFloor: 0,
      holders: [
        holder(0, 'w1:1'),
        holder(1, 'w2:7'),
        holder(3, 'w3:2', { reclaimable: true, claimableInMs: 0 }),
        holder(5, 'w4:1', { outsideAllocation: true }),
      ],
      heldByPool: { realtime: 0, batch: 2 },
      free: 2,
    };
    const view = await readStatus({
      semaphoreStatus: async () => semaphore,
      schedulingState: async () => ({ payers: [], tenants: [] }),
      currentLimits: () => configuredLimits(c),
      queues,
      redis,
      slotNotes: notes,
      now: () => now,
    });
    expect(view.slots.map((s) => [s.slot, s.state, s.payer])).toEqual([
      [0, 'in call', '87726'],
      [1, 'held', undefined],
      [2, 'free', undefined],
      [3, 'reclaimable', undefined],
      [5, 'outside allocation', undefined],
    ]);
    expect(view.slots[0]).toMatchObject({ tenant: 'clinic', checkId: 'bt_1', callAgeMs: 2_500 });
    expect(view.allocation).toMatchObject({ capacity: 4, inUse: 2, free: 2 });
    expect(view.queues.map((q) => q.priority).sort()).toEqual(['batch', 'realtime']);
  });
});
