/**
 * Clients of the REST API that submit checks as a careful integration does: each submission with
 * its own Idempotency-Key, sent again after a 503 (once Retry-After has passed) or after no answer
 * in time, until it is accepted. Every answer is logged with its status and how long it took, so
 * a run can say how the API answered while something was down, and which checks each key got.
 */
import type { CheckRequest } from '../../src/shared/schemas/check-request.js';

/** One answer (or none) to one POST. */
export interface Answer {
  readonly key: string;
  /** HTTP status, or 'no answer' within the clients' answer limit. */
  readonly status: number | 'no answer';
  /** When the POST was sent (epoch ms) and how long its answer took. */
  readonly at: number;
  readonly ms: number;
}

/** Settings of a client run. */
export interface RetryingClientsOptions {
  readonly url: string;
  readonly apiKey: string;
  /** Concurrent clients, each submitting one check (or batch) after another. */
  readonly clients: number;
  /** Every n-th submission of a client is a batch of `batchSize` checks (0: none). */
  readonly batchEvery: number;
  readonly batchSize: number;
  /** The request of check `n` (a distinct member per check). */
  readonly request: (n: number) => CheckRequest;
  /** A POST not answered within this is abandoned and sent again, in ms. */
  readonly answerLimitMs: number;
  /** Pause between one client's accepted submission and its next, in ms. */
  readonly pauseMs: number;
}

/** A run of clients: its answers, and the check ids each key was given. */
export interface RetryingClients {
  readonly answers: readonly Answer[];
  /** Check ids by Idempotency-Key, from the answer that accepted it. */
  readonly accepted: ReadonlyMap<string, readonly string[]>;
  /** Takes no new submissions and resolves once every one under way was accepted. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `clients` clients; they submit until stopped. */
export function startRetryingClients(o: RetryingClientsOptions): RetryingClients {
  const answers: Answer[] = [];
  const accepted = new Map<string, string[]>();
  let stopping = false;
  let next = 0;

  async function submitUntilAccepted(key: string, path: string, body: unknown): Promise<void> {
    for (;;) {
      const at = Date.now();
      let status: number | 'no answer' = 'no answer';
      let reply: unknown;
      let retryAfter = 1;
      try {
        const res = await fetch(o.url + path, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${o.apiKey}`,
            'idempotency-key': key,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(o.answerLimitMs),
        });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after') ?? '1') || 1;
        reply = await res.json().catch(() => undefined);
      } catch {
        // No answer within the limit: abandoned, and sent again with the same key.
      }
      answers.push({ key, status, at, ms: Date.now() - at });
      if (status === 202) {
        accepted.set(key, checkIds(reply));
        return;
      }
      if (status !== 503 && status !== 'no answer')
        throw new Error(`POST ${path} answered ${status}: ${JSON.stringify(reply)}`);
      await sleep(Math.min(retryAfter, 2) * 1_000);
    }
  }

  async function client(c: number): Promise<void> {
    for (let i = 0; !stopping; i++) {
      const key = `client-${c}-${i}`;
      if (o.batchEvery > 0 && i % o.batchEvery === o.batchEvery - 1) {
        const items = Array.from({ length: o.batchSize }, () => o.request(next++));
        await submitUntilAccepted(key, '/v1/eligibility/batch', { items });
      } else {
        const priority = i % 2 === 0 ? 'realtime' : 'batch';
        await submitUntilAccepted(key, '/v1/eligibility', { priority, request: o.request(next++) });
      }
      await sleep(o.pauseMs);
    }
  }

  const running = Array.from({ length: o.clients }, (_, c) => client(c));
  return {
    answers,
    accepted,
    stop: async () => {
      stopping = true;
      await Promise.all(running);
    },
  };
}

/** The check ids of a 202 body: one check's, or a batch's. */
function checkIds(body: unknown): string[] {
  const b = body as { id?: unknown; checks?: { id?: unknown }[] } | undefined;
  if (typeof b?.id === 'string') return [b.id];
  return (b?.checks ?? []).map((c) => String(c.id));
}

/** Polls `url` every `everyMs`, logging each answer's status and time, until stopped. */
export function pollReadiness(
  url: string,
  everyMs: number,
  answerLimitMs: number,
): { readonly answers: readonly Answer[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const at = Date.now();
      let status: number | 'no answer' = 'no answer';
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(answerLimitMs) });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        // Counted as no answer.
      }
      answers.push({ key: 'readyz', status, at, ms: Date.now() - at });
      await sleep(everyMs);
    }
  })();
  return {
    answers,
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}
