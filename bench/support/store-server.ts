/**
 * A SemaphoreStore served over HTTP from one process, for benchmarks across processes where
 * dynalite is the bottleneck: dynalite applies about 200 writes a second on our machine (one
 * Node process doing DynamoDB's work), so at L = 200 it, not the protocol, decides the figures.
 * The store behind it is the in-memory one the fault tests use, with DynamoDB's conditions
 * (held equal to dynalite by test/shared/semaphore/store-contract.test.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SemaphoreStore } from '../../src/shared/semaphore/index.js';
import { MemorySemaphoreStore } from '../../test/support/memory-semaphore-store.js';

type Op = keyof SemaphoreStore;
const ops: readonly Op[] = ['listSlots', 'claim', 'renew', 'release', 'fence', 'forceRelease'];

/** Starts the server on a free port; `url` is what HttpSemaphoreStore takes. */
export async function startStoreServer(): Promise<{ url: string; close(): Promise<void> }> {
  const store = new MemorySemaphoreStore();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          const { op, args } = JSON.parse(body) as { op: Op; args: unknown[] };
          if (!ops.includes(op)) throw new Error(`unknown op ${op}`);
          const result = await (store[op].bind(store) as (...a: unknown[]) => Promise<unknown>)(
            ...args,
          );
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ result }));
        } catch (err) {
          res.writeHead(500).end(err instanceof Error ? err.message : String(err));
        }
      })();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A SemaphoreStore that forwards every request to a store server. */
export class HttpSemaphoreStore implements SemaphoreStore {
  constructor(private readonly url: string) {}

  private async call<T>(op: Op, args: unknown[]): Promise<T> {
    const res = await fetch(`${this.url}/op`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ op, args }),
    });
    if (!res.ok) throw new Error(`store server: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { result: T }).result;
  }

  listSlots(...args: Parameters<SemaphoreStore['listSlots']>) {
    return this.call<Awaited<ReturnType<SemaphoreStore['listSlots']>>>('listSlots', args);
  }
  claim(...args: Parameters<SemaphoreStore['claim']>) {
    return this.call<boolean>('claim', args);
  }
  renew(...args: Parameters<SemaphoreStore['renew']>) {
    return this.call<boolean>('renew', args);
  }
  release(...args: Parameters<SemaphoreStore['release']>) {
    return this.call<boolean>('release', args);
  }
  fence(...args: Parameters<SemaphoreStore['fence']>) {
    return this.call<undefined>('fence', args).then(() => undefined);
  }
  forceRelease(...args: Parameters<SemaphoreStore['forceRelease']>) {
    return this.call<boolean>('forceRelease', args);
  }
}
