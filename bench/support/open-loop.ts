/**
 * An open-loop HTTP/1.1 load generator: requests are due at a fixed rate whatever the server does,
 * and each latency is measured from the moment its request was due, so a server that falls
 * behind shows it (no coordinated omission, unlike closed-loop tools such as wrk). wrk2 does this
 * but is not packaged in Debian; this one is small because every request is the same bytes and
 * every answer carries Content-Length. Sends are batched per 1 ms timer tick, which adds up to
 * about a millisecond to the measured latencies: it errs against the server.
 */
import { connect, type Socket } from 'node:net';
import { percentile } from './holds.js';

/** What to send, where, and how fast. */
export interface OpenLoopOptions {
  /** Ports on 127.0.0.1; connections are spread over them (several producer processes). */
  readonly ports: readonly number[];
  /** The whole request, headers and body. */
  readonly request: Buffer;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly connections: number;
}

/** What an open-loop run measured. */
export interface OpenLoopResult {
  readonly due: number;
  readonly answered: number;
  readonly ratePerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Answers whose status was not 2xx. */
  readonly failed: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Builds a raw HTTP/1.1 POST with a JSON body. */
export function rawPost(path: string, headers: Record<string, string>, body: string): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: keep-alive'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Sends `request` at `ratePerSecond` for `durationMs`, then waits for the answers. */
export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  let failed = 0;
  let lastAnswer = 0;
  const conns = await Promise.all(
    Array.from({ length: o.connections }, (_, i) => open(o.ports[i % o.ports.length] ?? 0)),
  );
  const start = performance.now();
  let due = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      const target = Math.floor((Math.min(elapsed, o.durationMs) * o.ratePerSecond) / 1000);
      for (; due < target; due++) {
        const c = conns[next++ % conns.length];
        c?.dueAt.push(start + (due * 1000) / o.ratePerSecond);
        c?.pending.push(o.request);
      }
      for (const c of conns) {
        if (c.pending.length === 0) continue;
        c.socket.write(c.pending.length === 1 ? o.request : Buffer.concat(c.pending));
        c.pending = [];
      }
      if (elapsed >= o.durationMs) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  const sendEnd = performance.now();
  const deadline = sendEnd + 30_000;
  while (latencies.length + failed < due && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  for (const c of conns) c.socket.destroy();
  return {
    due,
    answered: latencies.length,
    // Answers over the time until the last one: a server that falls behind shows a lower rate.
    ratePerSecond: latencies.length / ((Math.max(lastAnswer, start + o.durationMs) - start) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: percentile(latencies, 100),
    failed,
  };

  async function open(port: number) {
    const socket: Socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = { socket, dueAt: [] as number[], pending: [] as Buffer[] };
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) break;
        const head = buf.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) break;
        const status = Number(head.slice(9, 12));
        const dueAt = conn.dueAt.shift() ?? performance.now();
        lastAnswer = performance.now();
        if (status >= 200 && status < 300) latencies.push(lastAnswer - dueAt);
        else failed++;
        buf = buf.subarray(end + 4 + length);
      }
    });
    return conn;
  }
}
