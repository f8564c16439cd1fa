/**
 * The real-time Stedi transport against real HTTP and HTTPS servers: the answer as Stedi gives it;
 * the last check at the send, which leaves no request (not one byte) behind when it refuses, on a
 * new connection and on a kept-alive one; limits that never cut a call Stedi may still run; and
 * failures that say whether the call may still run there.
 */
import { readFileSync } from 'node:fs';
import dns from 'node:dns';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import https, { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, LookupFunction, Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { postGuarded } from '../../../src/worker/stedi/guarded-post.js';
import { StediTransportError } from '../../../src/worker/stedi/stedi-transport-error.js';

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A server answering with `handler` (over TLS with `tls`); counts the bytes and requests it received. */
async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: { key: Buffer; cert: Buffer },
) {
  const seen = { bytes: 0, requests: 0, authorization: [] as (string | undefined)[] };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    seen.requests++;
    seen.authorization.push(req.headers.authorization);
    handler(req, res);
  };
  server = tls ? createHttpsServer(tls, listener) : createServer(listener);
  // Over TLS, the bytes of the request itself (after the handshake).
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const host = tls ? 'localhost' : '127.0.0.1';
  return { url: new URL(`${tls ? 'https' : 'http'}://${host}:${port}/check`), seen };
}

const post = (url: URL, extra: Partial<Parameters<typeof postGuarded>[0]> = {}) =>
  postGuarded({
    url,
    headers: { authorization: 'test-key', 'content-type': 'application/json' },
    body: JSON.stringify({ hello: 'world' }),
    limitMs: 2_000,
    what: 'Stedi call',
    ...extra,
  });

const answer = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
    res.end(JSON.stringify({ code: 'TooManyRequests' }));
  });
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("returns Stedi's status, JSON body and Retry-After", async () => {
  const { url, seen } = await serve(answer);
  let checks = 0;
  const reply = await post(url, { beforeSend: () => void checks++ });
  expect(reply).toEqual({ status: 429, body: { code: 'TooManyRequests' }, retryAfterMs: 2_000 });
  expect(checks).toBe(1);
  expect(seen.authorization).toEqual(['test-key']);
});

/**
 * A refused send leaves no request and not one byte at the server, on a new connection (the check
 * runs once it is connected) and on one a first call left kept alive in the agent.
 */
async function expectRefusalsSendNothing(url: URL, seen: { bytes: number; requests: number }) {
  const refused = new Error('cover lapsed');
  const refusedPost = () =>
    post(url, {
      beforeSend: () => {
        throw refused;
      },
    });
  await expect(refusedPost()).rejects.toBe(refused);
  await sleep(100);
  expect(seen).toMatchObject({ bytes: 0, requests: 0 });
  expect((await post(url)).status).toBe(429);
  const bytesAfterFirst = seen.bytes;
  await expect(refusedPost()).rejects.toBe(refused);
  await sleep(100);
  expect(seen).toMatchObject({ bytes: bytesAfterFirst, requests: 1 });
}

it('sends nothing when the last check refuses, on a new connection and on a kept-alive one', async () => {
  const { url, seen } = await serve(answer);
  await expectRefusalsSendNothing(url, seen);
});

it('gives up with StediTransportError when no answer comes within the limit', async () => {
  const { url } = await serve((req) => req.resume()); // never answers
  const err = await post(url, { limitMs: 200 }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(StediTransportError);
  expect((err as Error).message).toBe('Stedi call failed: no answer within 200 ms');
});

it('names the network error when nothing listens, and a connection closed mid-answer', async () => {
  const { url } = await serve((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"partial":');
    setTimeout(() => req.socket.destroy(), 20);
  });
  const cut = await post(url).catch((e: unknown) => e);
  expect(cut).toBeInstanceOf(StediTransportError);

  const closedPort = url.port;
  await new Promise((r) => server?.close(r));
  for (const s of sockets) s.destroy();
  server = undefined;
  const refused = await post(new URL(`http://127.0.0.1:${closedPort}/check`)).catch(
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(StediTransportError);
  expect((refused as Error).message).toBe('Stedi call failed: network error ECONNREFUSED');
});

it('keeps the status of an answer that is not JSON (a proxy error page)', async () => {
  const { url } = await serve((req, res) => {
    req.resume();
    res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html>Bad gateway</html>');
  });
  expect(await post(url)).toEqual({ status: 502, body: undefined });
});

it('counts the answer limit from the write: a slow connection does not cut a call Stedi still runs', async () => {
  const { url } = await serve((req, res) => {
    req.resume();
    setTimeout(() => res.end('{}'), 150);
  });
  // Resolving the host takes longer than the whole answer limit.
  const slowLookup: LookupFunction = (host, options, callback) =>
    setTimeout(() => dns.lookup(host, options, callback), 400);
  const reply = await post(new URL(`http://localhost:${url.port}/check`), {
    limitMs: 300,
    lookup: slowLookup,
  });
  expect(reply.status).toBe(200);
});

it('gives up with nothing sent when no connection is made in time, and on a request Node refuses', async () => {
  const { url, seen } = await serve(answer);
  const never: LookupFunction = () => undefined;
  const hung = await post(new URL(`http://localhost:${url.port}/check`), {
    connectLimitMs: 100,
    lookup: never,
  }).catch((e: unknown) => e);
  expect(hung).toBeInstanceOf(StediTransportError);
  expect((hung as StediTransportError).mayStillRun).toBe(false);
  expect((hung as Error).message).toBe(
    'Stedi call failed: no connection within 100 ms; nothing was sent',
  );

  // A header value Node refuses throws inside http.request: a rejection, and no timer left to
  // fire on a request that never existed (an uncaught error would fail this file).
  const bad = await post(url, {
    headers: { authorization: 'key\u0001' },
    limitMs: 50,
    connectLimitMs: 50,
  }).catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(StediTransportError);
  expect((bad as StediTransportError).mayStillRun).toBe(false);

  // A connection that fails before the socket is handed over (here a lookup failing at once):
  // nothing was sent, so nothing may still run at Stedi.
  const failsAtOnce: LookupFunction = (_host, _options, callback) =>
    callback(Object.assign(new Error('no such host'), { code: 'ENOTFOUND' }), '', 4);
  const unresolved = await post(new URL(`http://localhost:${url.port}/check`), {
    lookup: failsAtOnce,
  }).catch((e: unknown) => e);
  expect(unresolved).toBeInstanceOf(StediTransportError);
  expect((unresolved as StediTransportError).mayStillRun).toBe(false);
  await sleep(150);
  expect(seen.requests).toBe(0);
});

it('says whether a failed call may still run at Stedi: a reset before any answer, not a timeout or a cut answer', async () => {
  let mode: 'reset' | 'silent' | 'cut' = 'reset';
  const { url } = await serve((req, res) => {
    req.resume();
    if (mode === 'reset') setTimeout(() => req.socket.destroy(), 20);
    if (mode === 'cut') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => req.socket.destroy(), 20);
    }
  });
  const failure = async () =>
    (await post(url, { limitMs: 200 }).catch((e: unknown) => e)) as StediTransportError;
  const reset = await failure();
  expect(reset).toBeInstanceOf(StediTransportError);
  expect(reset.mayStillRun).toBe(true);
  mode = 'silent';
  expect((await failure()).mayStillRun).toBe(false); // our limit, past Stedi's bound
  mode = 'cut';
  expect((await failure()).mayStillRun).toBe(false); // Stedi answered: its call is over
});

it('sends nothing over TLS when the last check refuses, on a new connection and on a kept-alive one', async () => {
  // A throwaway self-signed certificate for localhost, for this test only.
  const dir = new URL('../../support/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost-cert.pem', dir));
  const { url, seen } = await serve(answer, {
    key: readFileSync(new URL('localhost-key.pem', dir)),
    cert,
  });
  const ca = https.globalAgent.options.ca;
  https.globalAgent.options.ca = cert;
  try {
    await expectRefusalsSendNothing(url, seen);
  } finally {
    https.globalAgent.options.ca = ca;
  }
});
