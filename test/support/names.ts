import { randomUUID } from 'node:crypto';

/** A name no other test uses, for a table, semaphore or queue prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
