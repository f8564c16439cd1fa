/**
 * Bounds every store request. A DynamoDB request that hangs (a stuck connection, an overloaded
 * endpoint) fails after `timeoutMs` instead of holding a grant round, a release or close() for
 * minutes. A write that timed out may still land later: callers treat it as an unknown outcome.
 */
import { SemaphoreStoreError } from '../errors/semaphore-store-error.js';
import type { SemaphoreStore } from './types.js';

/** The store request did not answer within its deadline. */
export class StoreTimeoutError extends Error {
  override readonly name = 'StoreTimeoutError';
  constructor(operation: string, timeoutMs: number) {
    super(`no answer to ${operation} within ${timeoutMs} ms`);
  }
}

/** Wraps `store` so each request rejects with SemaphoreStoreError after `timeoutMs`. */
export function withDeadline(store: SemaphoreStore, timeoutMs: number): SemaphoreStore {
  const bounded =
    <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> =>
      new Promise<R>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new SemaphoreStoreError(operation, {
                cause: new StoreTimeoutError(operation, timeoutMs),
              }),
            ),
          timeoutMs,
        );
        timer.unref?.();
        call(...args).then(
          (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          (err: unknown) => {
            clearTimeout(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          },
        );
      });
  return {
    listSlots: bounded('listSlots', store.listSlots.bind(store)),
    claim: bounded('claim', store.claim.bind(store)),
    renew: bounded('renew', store.renew.bind(store)),
    release: bounded('release', store.release.bind(store)),
    fence: bounded('fence', store.fence.bind(store)),
    forceRelease: bounded('forceRelease', store.forceRelease.bind(store)),
  };
}
