/**
 * `npm run semaphore -- <command>`: the operator's view of the semaphore in SEMAPHORE_TABLE.
 *   status [--json]            holders by slot: pool, age, lease expiry, call start, reclaimable
 *   force-release <slot>       frees a slot whose lease (and Stedi bound) has run out
 *   force-release <slot> --force   frees it even if held: only when its worker is known dead
 *                              and its call is known finished, or Stedi may see one call too many
 *   create-table               creates the table (as workers do when SEMAPHORE_CREATE_TABLE=true)
 */
import { loadConfig } from '../config.js';
import { createDynamoClient } from '../clients/dynamodb.js';
import { DynamoSemaphoreStore } from './dynamo-store.js';
import { inspectParamsFromConfig } from './from-config.js';
import { inspectSemaphore } from './inspect.js';
import { reclaimCutoffs } from './slot-rules.js';
import { ensureSemaphoreTable } from './table.js';

const config = loadConfig();
const [command = 'status', ...rest] = process.argv.slice(2);
const client = createDynamoClient({
  endpoint: config.DYNAMODB_ENDPOINT,
  region: config.AWS_REGION,
});
const store = new DynamoSemaphoreStore(client, config.SEMAPHORE_TABLE);
const params = inspectParamsFromConfig(config);

try {
  process.exitCode = await run();
} catch (err) {
  console.error(`semaphore ${command}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  client.destroy();
}

async function run(): Promise<number> {
  switch (command) {
    case 'status': {
      const status = await inspectSemaphore(store, params);
      if (rest.includes('--json')) {
        console.log(JSON.stringify(status, null, 2));
        return 0;
      }
      console.log(
        `semaphore "${status.name}" in table ${config.SEMAPHORE_TABLE}: allocation ${status.capacity}, ` +
          `${status.realtimeReserved} reserved for realtime; held realtime ${status.heldByPool.realtime}, ` +
          `batch ${status.heldByPool.batch}; free ${status.free}`,
      );
      if (status.holders.length === 0) console.log('no holders');
      for (const h of status.holders) {
        const s = (ms: number | undefined) =>
          ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
        console.log(
          `slot ${String(h.slot).padStart(3)} ${h.slotKind.padEnd(8)} ${String(h.pool ?? '?').padEnd(8)} ` +
            `age ${s(h.ageMs).padStart(7)}  lease ${s(h.leaseExpiresInMs).padStart(7)}  ` +
            `${h.callStartedAt ? 'in call' : 'idle   '}  ` +
            `${h.reclaimable ? 'RECLAIMABLE' : `reclaimable in ${s(h.claimableInMs)}`}  ${h.owner}`,
        );
      }
      return 0;
    }
    case 'force-release': {
      const slot = Number(rest[0]);
      if (!Number.isInteger(slot) || slot < 0)
        throw new Error('usage: force-release <slot> [--force]');
      const force = rest.includes('--force');
      const ok = await store.forceRelease(
        config.SEMAPHORE_NAME,
        slot,
        force ? null : reclaimCutoffs(Date.now(), params),
      );
      console.log(
        ok
          ? `slot ${slot} released`
          : `slot ${slot} is still within its lease or Stedi bound; not released (use --force only if its worker is dead and its call is over)`,
      );
      return ok ? 0 : 2;
    }
    case 'create-table':
      await ensureSemaphoreTable(client, config.SEMAPHORE_TABLE);
      console.log(`table ${config.SEMAPHORE_TABLE} is ready`);
      return 0;
    default:
      console.error(
        'usage: npm run semaphore -- status [--json] | force-release <slot> [--force] | create-table',
      );
      return 64;
  }
}
