/**
 * One JSON POST over node:http(s) whose last check runs in the same synchronous step as the write
 * of the request to a connected socket. Node sends a request's headers with its first body write,
 * so until then the server has seen nothing: a `beforeSend` that throws leaves no request behind.
 * (fetch gives no such moment: its own asynchronous steps lie between the call and the socket,
 * and a process stalled there sends later than any check before it knew.)
 *
 * The request goes through the global agent, which keeps connections alive (Node 19+).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { StediReply } from './stedi-client.js';
import { StediTransportError } from './stedi-transport-error.js';

/** What to send, and the check that decides at the last moment whether to send it. */
export interface GuardedPost {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Gives up (StediTransportError) when no answer came within this, in ms. */
  readonly limitMs: number;
  /** Names the call in errors. */
  readonly what: string;
  /**
   * Runs right before the request is written, on a connected socket, with no await in between.
   * If it throws, nothing is sent and postGuarded rejects with what it threw.
   */
  readonly beforeSend?: () => void;
}

/** Sends `post`; rejects with StediTransportError when no answer came back. */
export function postGuarded(post: GuardedPost): Promise<StediReply> {
  const body = Buffer.from(post.body);
  const transport = post.url.protocol === 'https:' ? https : http;
  return new Promise<StediReply>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (why: string, cause?: unknown) =>
      settle(() => reject(new StediTransportError(`${post.what} failed: ${why}`, { cause })));
    // From the start, as a hung connect counts against the call's time too.
    const timer = setTimeout(() => {
      fail(`no answer within ${post.limitMs} ms`);
      req.destroy();
    }, post.limitMs);

    const req = transport.request(post.url, {
      method: 'POST',
      headers: { ...post.headers, 'content-length': String(body.length) },
    });
    req.on('error', (err) => fail(describeNetworkError(err), err));
    req.on('response', (res) => readReply(res, (reply) => settle(() => resolve(reply)), fail));

    const send = () => {
      if (settled) return;
      try {
        post.beforeSend?.();
      } catch (err) {
        settle(() => reject(err instanceof Error ? err : new Error(String(err))));
        req.destroy();
        return;
      }
      req.end(body);
    };
    req.on('socket', (socket: Socket) => {
      // A kept-alive socket is connected already; a new one is connected (and, for TLS, past its
      // handshake) only later, and a write before then would wait in Node's buffer.
      if (!socket.connecting) return send();
      socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', send);
    });
  });
}

function readReply(
  res: IncomingMessage,
  resolve: (reply: StediReply) => void,
  fail: (why: string, cause?: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('error', (err) => fail(describeNetworkError(err), err));
  res.on('close', () => {
    if (!res.complete) fail('the connection closed before the answer was complete');
  });
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON (a proxy's error page): the status alone decides.
    }
    const retryAfter = Number(res.headers['retry-after']);
    resolve({
      status: res.statusCode ?? 0,
      body,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    });
  });
}

function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return `network error ${code}`;
  return err instanceof Error ? `network error (${err.message})` : 'network error';
}
