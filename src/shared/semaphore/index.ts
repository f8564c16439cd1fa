export {
  Semaphore,
  type SemaphoreOptions,
  type AcquireOptions,
  type WaiterAdmission,
  type SemaphoreEvents,
} from './semaphore.js';
export { SlotLease } from './slot-lease.js';
export { DynamoSemaphoreStore } from './dynamo-store.js';
export { RedisHintChannel } from './redis-hint-channel.js';
export { ensureSemaphoreTable, semaphoreTableDefinition } from './table.js';
export { inspectSemaphore, type SemaphoreStatus, type HolderView } from './inspect.js';
export type { Pool, SemaphoreStore, SlotRecord, HintChannel } from './types.js';
