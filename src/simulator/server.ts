/**
 * The Stedi simulator: Stedi's real-time eligibility contracts (v3 and 2026-06-01) with Stedi's
 * concurrency behaviour, both endpoints drawing on one allocation. A request that finds the
 * allocation full gets 429 at once and occupies nothing; an admitted one holds its slot for its
 * whole simulated latency, even if the client hangs up, because Stedi does not cancel a request
 * whose client is gone.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { latencySampler, seededRandom } from './latency.js';
import {
  aaaDescription,
  findMock,
  loadMockCatalog,
  outcomeOf,
  type Outcome,
} from './mock-catalog.js';
import { knownPayers, memberOutcome } from './member-outcome.js';
import { simulatorDefaults, type SimulatorOptions } from './options.js';
import { payerBehaviour } from './payer-profiles.js';
import { parseSimRequest, type SimRequest } from './request-schema.js';
import { eligibilityResponse, payerNotConfigured } from './responses.js';
import { eligibilityCheckResponse, invalidRequest } from './responses-2026.js';
import { StatsRecorder, type SimulatorStats } from './stats.js';
import { BatchPipeline, type BatchReply, type BatchStats } from './batch/batch-pipeline.js';
import { batchApiPaths, eligibilityPaths, type EligibilityEndpoint } from '../shared/stedi-api.js';

const MAX_BODY_BYTES = 1024 * 1024;
/** A batch of 10,000 checks is several MB of JSON. */
const MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024;

/** A running simulator. */
export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:4010 (what STEDI_BASE_URL takes). */
  readonly url: string;
  readonly options: SimulatorOptions;
  stats(): SimulatorStats;
  /** Counters of the Batch Eligibility API pipeline (also in GET /__stats as `batch`). */
  batchStats(): BatchStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Options of startSimulator: simulator settings plus where to listen. */
export type StartSimulatorOptions = Partial<SimulatorOptions> & { port?: number; host?: string };

/** Starts a simulator and resolves once it listens. */
export async function startSimulator(given: StartSimulatorOptions = {}): Promise<Simulator> {
  const { port = 0, host = '127.0.0.1', ...rest } = given;
  const options: SimulatorOptions = { ...simulatorDefaults, ...rest };
  const random = seededRandom(options.seed);
  const latency = latencySampler(options.latency, options.timeScale, random);
  const catalog = loadMockCatalog();
  const byPayer = payerBehaviour(options.payers, options);
  const payers = new Set([...knownPayers, ...options.extraPayers, ...Object.keys(options.payers)]);
  // Outage windows count from when the server listens (set again below, once it does).
  let listeningSince = Date.now();
  const stats = new StatsRecorder(options.concurrency);
  const timers = new Set<NodeJS.Timeout>();
  /** The caller's API key when it is one of ours (sent raw, or as `Key`/`Bearer <key>`). */
  const apiKeyOf = (req: IncomingMessage): string | undefined => {
    const key = (req.headers.authorization ?? '').replace(/^(Key|Bearer)\s+/i, '').trim();
    return key && options.apiKeys.includes(key) ? key : undefined;
  };
  /** Why Stedi refuses a valid request (unknown payer, non-mock under a test key), if it does. */
  const refusal = (request: SimRequest, key: string) => {
    if (!payers.has(request.payer)) return 'payer';
    if (key.startsWith('test_') && !findMock(catalog, request.payer, request.subscriber))
      return 'test-key';
    return undefined;
  };
  /** The payer's answer when nothing goes wrong: the mock's documented one, or the member's. */
  const answerOf = (request: SimRequest): Outcome => {
    const mock = findMock(catalog, request.payer, request.subscriber);
    return mock ? outcomeOf(mock) : memberOutcome(request.payer, request.subscriber.memberId);
  };
  /** Resolves after `ms`; close() drops the wait. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });
  const batchRandom = seededRandom(options.seed + 1);
  const pipeline = new BatchPipeline({
    concurrency: options.batch.concurrency,
    latency: latencySampler(
      { ...options.latency, medianMs: options.batch.latencyMedianMs },
      options.timeScale,
      batchRandom,
    ),
    retryMs: options.batch.retryMs * options.timeScale,
    timeScale: options.timeScale,
    random: batchRandom,
    refusal,
    outcome: (request) => {
      const outage = byPayer.activeOutage(request.payer, Date.now() - listeningSince);
      // A payer that is down, whatever it answers real-time, is a connectivity failure here.
      if (outage) return 'outcome' in outage ? outage.outcome : unableToRespond;
      if (batchRandom() < options.faults.aaa42) return unableToRespond;
      return answerOf(request);
    },
  });

  const json = (res: ServerResponse, status: number, body: unknown) => {
    if (res.destroyed || res.writableEnded) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };

  async function eligibility(
    endpoint: EligibilityEndpoint,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const v3 = endpoint === 'v3';
    stats.arrived(endpoint);
    const key = apiKeyOf(req);
    if (!key) {
      stats.outcome('401');
      req.resume();
      return json(res, 401, { message: 'Unauthorized: missing or unknown API key' });
    }
    if (stats.inFlight >= options.concurrency) {
      stats.rejected();
      req.resume();
      const message =
        'Concurrency limit exceeded: wait until one of your previous requests is completed';
      return json(res, 429, v3 ? { code: 'TooManyRequests', message } : { message });
    }
    const slot = stats.started();
    let held = true;
    const free = () => {
      if (held) stats.finished(slot);
      held = false;
    };
    let payer: string | undefined;
    try {
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        stats.outcome('400');
        return json(res, 400, { message: 'Request body is not valid JSON' });
      }
      const parsed = parseSimRequest(endpoint, body);
      if (!parsed.ok) {
        stats.outcome('400');
        return json(
          res,
          400,
          v3
            ? {
                message: 'Request validation failed',
                errors: parsed.issues.map((i) => ({
                  field: i.path.map(String).join('.'),
                  description: i.message,
                })),
              }
            : invalidRequest('Request validation failed', parsed.issues),
        );
      }
      const request = parsed.request;
      payer = request.payer;
      stats.attribute(slot, payer);
      const refused = refusal(request, key);
      if (refused === 'payer') {
        stats.outcome('400-payer-33', payer);
        return json(
          res,
          400,
          v3
            ? payerNotConfigured(request)
            : invalidRequest(`Payer ${payer} is not configured.`, [
                { path: ['payerId'], message: 'is not a payer configured at Stedi (code 33)' },
              ]),
        );
      }
      if (refused === 'test-key') {
        stats.outcome('400-test-mode', payer);
        return json(res, 400, {
          message:
            'Test API keys accept only Stedi mock requests: the payer and subscriber values must match one exactly',
        });
      }
      let outcome = answerOf(request);
      const outage = byPayer.activeOutage(payer, Date.now() - listeningSince);
      // A payer that is down answers nothing else, so no fault is drawn during its outage.
      const fault = outage ? undefined : drawFault(options, random);
      if (fault === 'aaa42') outcome = unableToRespond;
      if (outage && 'outcome' in outage) outcome = outage.outcome;
      const sampler = byPayer.latencyOf(payer) ?? latency;
      const delayMs = outage
        ? outage.delayMs
        : fault === 'slow'
          ? sampler.atBound()
          : sampler.next();
      await pause(delayMs);
      free();
      if (res.destroyed || req.socket.destroyed) {
        stats.outcome('client-gone', payer);
        return;
      }
      if (fault === 'reset') {
        stats.outcome('reset', payer);
        req.socket.destroy();
        return;
      }
      if (outage && 'status' in outage) {
        stats.outcome(String(outage.status), payer);
        return json(res, outage.status, { message: `Simulated outage of payer ${payer}` });
      }
      if (fault === 'http5xx') {
        const status = [500, 503, 504][Math.floor(random() * 3)] ?? 500;
        stats.outcome(String(status), payer);
        return json(res, status, { message: 'Simulated upstream failure' });
      }
      stats.outcome(outcome.kind === 'aaa' ? `aaa-${outcome.code}` : outcome.kind, payer);
      json(
        res,
        200,
        v3
          ? eligibilityResponse(request, outcome, random)
          : eligibilityCheckResponse(request, outcome),
      );
    } catch (err) {
      stats.outcome('400', payer);
      json(res, err instanceof BodyTooLargeError ? 413 : 400, { message: (err as Error).message });
    } finally {
      free();
    }
  }

  /** Stedi's Batch Eligibility API (manager.us.stedi.com): submit, status, items, results. */
  async function batchApi(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const key = apiKeyOf(req);
    if (!key) {
      req.resume();
      return json(res, 401, { message: 'Unauthorized: missing or unknown API key' });
    }
    const query = new URL(req.url ?? '/', 'http://simulator').searchParams;
    const send = (reply: BatchReply) => json(res, reply.status, reply.body);
    if (req.method === 'POST' && path === batchApiPaths.submit) {
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, MAX_BATCH_BODY_BYTES));
      } catch (err) {
        const tooLarge = err instanceof BodyTooLargeError;
        return json(res, tooLarge ? 413 : 400, { message: (err as Error).message });
      }
      const idempotencyKey = req.headers['idempotency-key'];
      const reply = pipeline.submit(
        body,
        key,
        typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
      );
      // The batch exists from here on; its id reaches the client only after this.
      await pause(options.batch.submitMs * options.timeScale);
      return send(reply);
    }
    req.resume();
    const batch = /^\/2024-04-01\/eligibility-manager\/batch\/([^/]+)(\/items)?$/.exec(path);
    if (req.method === 'GET' && batch?.[1]) {
      const id = decodeURIComponent(batch[1]);
      return send(batch[2] ? pipeline.items(id, query) : pipeline.status(id));
    }
    if (req.method === 'GET' && path === batchApiPaths.results)
      return send(pipeline.results(query));
    json(res, 404, { message: `No route for ${req.method ?? ''} ${path}` });
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const endpoint = (Object.keys(eligibilityPaths) as EligibilityEndpoint[]).find(
      (e) => eligibilityPaths[e] === path,
    );
    if (req.method === 'POST' && endpoint) {
      eligibility(endpoint, req, res).catch(() => json(res, 500, { message: 'simulator error' }));
    } else if (path?.startsWith('/2024-04-01/eligibility-manager/')) {
      batchApi(req, res, path).catch(() => json(res, 500, { message: 'simulator error' }));
    } else if (req.method === 'GET' && path === '/__stats') {
      json(res, 200, { ...stats.snapshot(), batch: pipeline.stats() });
    } else if (req.method === 'POST' && path === '/__stats/reset') {
      stats.reset();
      json(res, 200, stats.snapshot());
    } else if (req.method === 'GET' && path === '/healthz') {
      json(res, 200, { ok: true });
    } else {
      req.resume();
      json(res, 404, { message: `No route for ${req.method ?? ''} ${path ?? ''}` });
    }
  });
  // Longer than any client's idle keep-alive, so a reused socket is never closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  listeningSince = Date.now();
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    options,
    stats: () => stats.snapshot(),
    batchStats: () => pipeline.stats(),
    resetStats: () => stats.reset(),
    close: async () => {
      pipeline.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const unableToRespond: Outcome = { kind: 'aaa', code: '42', description: aaaDescription('42') };

type Fault = 'aaa42' | 'http5xx' | 'slow' | 'reset' | undefined;

function drawFault(options: SimulatorOptions, random: () => number): Fault {
  const r = random();
  const { aaa42, http5xx, slow, reset } = options.faults;
  if (r < aaa42) return 'aaa42';
  if (r < aaa42 + http5xx) return 'http5xx';
  if (r < aaa42 + http5xx + slow) return 'slow';
  if (r < aaa42 + http5xx + slow + reset) return 'reset';
  return undefined;
}

class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLargeError('Request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
