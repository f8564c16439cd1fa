/**
 * A SemaphoreStore served from one process over a socket, for benchmarks across processes where
 * dynalite is the bottleneck: dynalite applies about 200 writes a second on our machine (one
 * Node process doing DynamoDB's work), so at L = 200 it, not the protocol, decides the figures.
 * The store behind it is the in-memory one the fault tests use, with DynamoDB's conditions
 * (held equal to dynalite by test/shared/semaphore/store-contract.test.ts).
 *
 * The transport is one TCP connection per client carrying newline-delimited JSON with request
 * ids. It was HTTP through `fetch` first: undici's per-request cost (~5 ms of CPU at start-up,
 * with ten processes on two cores) made the fill CPU-bound on the harness, not on the protocol,
 * where each worker has its own CPU and the store's client cost is the AWS SDK's.
 */
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { createInterface } from 'node:readline';
import type { SemaphoreStore } from '../../src/shared/semaphore/index.js';
import { MemorySemaphoreStore } from '../../test/support/memory-semaphore-store.js';

type Op = keyof SemaphoreStore;
const ops: readonly Op[] = ['listSlots', 'claim', 'renew', 'release', 'fence', 'forceRelease'];

interface Request {
  id: number;
  op: Op;
  args: unknown[];
}
type Reply = { id: number; result: unknown } | { id: number; error: string };

/** Calls `onLine` for each non-empty line arriving on `socket`. */
function readLines(socket: Socket, onLine: (line: string) => void): void {
  createInterface({ input: socket }).on('line', (line) => {
    if (line) onLine(line);
  });
}

/** Starts the server on a free port; `url` is what SocketSemaphoreStore takes. */
export async function startStoreServer(): Promise<{ url: string; close(): Promise<void> }> {
  const store = new MemorySemaphoreStore();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    readLines(socket, (line) => {
      const { id, op, args } = JSON.parse(line) as Request;
      const answer = (reply: Reply) => {
        if (!socket.destroyed) socket.write(JSON.stringify(reply) + '\n');
      };
      if (!ops.includes(op)) return answer({ id, error: `unknown op ${op}` });
      (store[op].bind(store) as (...a: unknown[]) => Promise<unknown>)(...args).then(
        (result) => answer({ id, result }),
        (err: unknown) => answer({ id, error: err instanceof Error ? err.message : String(err) }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A SemaphoreStore that forwards every request to a store server over one connection. */
export class SocketSemaphoreStore implements SemaphoreStore {
  private readonly socket: Socket;
  private readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void }
  >();
  private nextId = 0;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.socket = createConnection({ host: hostname, port: Number(port), noDelay: true });
    this.socket.on('error', (err) => this.failAll(err));
    this.socket.on('close', () => this.failAll(new Error('store server connection closed')));
    readLines(this.socket, (line) => {
      const reply = JSON.parse(line) as Reply;
      const call = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!call) return;
      if ('error' in reply) call.reject(new Error(`store server: ${reply.error}`));
      else call.resolve(reply.result);
    });
  }

  /** Closes the connection; requests still waiting fail. */
  close(): void {
    this.socket.destroy();
  }

  private failAll(err: Error): void {
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
  }

  private call<T>(op: Op, args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(JSON.stringify({ id, op, args } satisfies Request) + '\n');
    });
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
