/**
 * One JSON POST over node:http(s) whose last check runs in the same synchronous step as the write
 * of the request to a connected socket. Node sends a request's headers with its first body write,
 * so until then the server has seen nothing: a `beforeSend` that throws leaves no request behind.
 * (fetch gives no such moment: its own asynchronous steps lie between the call and the socket,
 * and a process stalled there sends later than any check before it knew.) `end()` writes headers
 * and body to the kernel before it returns, so what is left between the check and the wire is
 * that one synchronous step (tens of microseconds; a few ms at worst on a loaded machine).
 *
 * States: connecting (nothing sent; `connectLimitMs`) -> sent (`limitMs` from the write) ->
 * answered | failed. A failure says whether the call may still be running at Stedi.
 *
 * The request goes through the global agent, which keeps connections alive (Node 19+).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { StediReply } from './stedi-client.js';
import { stediReply } from './stedi-reply.js';
import { StediTransportError } from './stedi-transport-error.js';

/** What to send, and the check that decides at the last moment whether to send it. */
export interface GuardedPost {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Gives up when no answer came this long after the request was written, in ms. */
  readonly limitMs: number;
  /** Gives up, with nothing sent, when no connection was made within this, in ms. @defaultValue 10000 */
  readonly connectLimitMs?: number;
  /** Names the call in errors. */
  readonly what: string;
  /**
   * Runs right before the request is written, on a connected socket, with no await in between.
   * If it throws, nothing is sent and postGuarded rejects with what it threw.
   */
  readonly beforeSend?: () => void;
  /** Resolves the host name (the system's resolver when unset). */
  readonly lookup?: LookupFunction;
}

/** Sends `post`; rejects with StediTransportError when no answer came back. */
export function postGuarded(post: GuardedPost): Promise<StediReply> {
  const body = Buffer.from(post.body);
  const transport = post.url.protocol === 'https:' ? https : http;
  return new Promise<StediReply>((resolve, reject) => {
    let settled = false;
    let sent = false;
    let answering = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const fail = (why: string, mayStillRun: boolean, cause?: unknown) =>
      settle(() =>
        reject(
          new StediTransportError(`${post.what} failed: ${why}`, {
            cause: withoutData(cause),
            mayStillRun,
          }),
        ),
      );
    // Once the request is written and until Stedi starts its answer (it answers when the call is
    // over), a failure may leave the call running there.
    const failed = (err: unknown) => fail(describeNetworkError(err), sent && !answering, err);

    let req: http.ClientRequest;
    try {
      req = transport.request(post.url, {
        method: 'POST',
        headers: { ...post.headers, 'content-length': String(body.length) },
        ...(post.lookup ? { lookup: post.lookup } : {}),
      });
    } catch (err) {
      // A header or URL Node refuses: nothing was sent.
      return fail(`the request could not be built (${(err as Error).message})`, false);
    }
    timer = setTimeout(() => {
      fail(`no connection within ${post.connectLimitMs ?? 10_000} ms; nothing was sent`, false);
      req.destroy();
    }, post.connectLimitMs ?? 10_000);
    req.on('error', failed);
    req.on('response', (res) => {
      answering = true;
      readReply(res, (reply) => settle(() => resolve(reply)), failed);
    });

    const send = () => {
      if (settled) return;
      try {
        post.beforeSend?.();
      } catch (err) {
        settle(() => reject(err instanceof Error ? err : new Error(String(err))));
        req.destroy();
        return;
      }
      clearTimeout(timer);
      // From the write: the time before it (DNS, connect, TLS) is not Stedi's.
      timer = setTimeout(() => {
        // Past Stedi's bound plus the grace: Stedi gave the call up, its slot is free.
        fail(`no answer within ${post.limitMs} ms`, false);
        req.destroy();
      }, post.limitMs);
      sent = true;
      req.end(body);
    };
    req.on('socket', (socket: Socket) => {
      // Already failed (a connect refused at once): its error follows, with nothing sent.
      if (socket.destroyed) return;
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
  failed: (err: unknown) => void,
): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('error', failed);
  res.on('close', () => {
    if (!res.complete) failed(new Error('the connection closed before the answer was complete'));
  });
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    resolve(stediReply(res.statusCode ?? 0, text, res.headers['retry-after']));
  });
}

/**
 * The cause without what it carries of the exchange: Node's parser errors keep the raw bytes of
 * the answer (patient data) on `rawPacket`.
 */
function withoutData(err: unknown): Error | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  return Object.assign(new Error(err.message), typeof code === 'string' ? { code } : {});
}

function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return `network error ${code}`;
  return err instanceof Error ? `network error (${err.message})` : 'network error';
}
