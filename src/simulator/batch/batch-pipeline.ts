/**
 * The simulated Batch Eligibility API's own pipeline: accepted items run asynchronously, at most
 * `concurrency` at a time, apart from the real-time allocation (they never take one of its slots).
 * An item's states: PENDING → STARTED → COMPLETED, with RETRYING between attempts while its payer
 * cannot answer (AAA 42/80), until maxRetryHours (time-scaled) have passed, then FAILED; an item
 * that fails validation is VALIDATION_FAILED at once. A batch is IN_PROGRESS until every item has
 * one of those three final states, then COMPLETED. An Idempotency-Key seen before returns the
 * batch it created instead of a second one.
 */
import { randomUUID } from 'node:crypto';
import type { LatencySampler } from '../latency.js';
import type { Outcome } from '../mock-catalog.js';
import { parseSimRequest, type SimRequest } from '../request-schema.js';
import { eligibilityResponse } from '../responses.js';

/** The state of one item of a batch (Retrieve Batch Check Statuses). */
export type ItemState =
  'PENDING' | 'STARTED' | 'RETRYING' | 'COMPLETED' | 'FAILED' | 'VALIDATION_FAILED';

const finalStates: ReadonlySet<ItemState> = new Set(['COMPLETED', 'FAILED', 'VALIDATION_FAILED']);

interface Item {
  readonly submitterTransactionIdentifier: string | undefined;
  readonly request: SimRequest | undefined;
  readonly problem: string | undefined;
  state: ItemState;
  attempts: number;
  result: Record<string, unknown> | undefined;
  updatedAt: number;
}

interface Batch {
  readonly id: string;
  readonly name: string | undefined;
  readonly maxRetryHours: number;
  readonly createdAt: number;
  updatedAt: number;
  readonly items: Item[];
}

/** What decides an item's answer: the simulator's realtime rules, without the allocation. */
export interface BatchRules {
  readonly concurrency: number;
  readonly latency: LatencySampler;
  /** Time between Stedi's retries of an item whose payer could not answer, already scaled. */
  readonly retryMs: number;
  readonly timeScale: number;
  readonly random: () => number;
  /** Why Stedi refuses a valid item (unknown payer, non-mock item under a test key), if it does. */
  refusal(request: SimRequest, key: string): 'payer' | 'test-key' | undefined;
  /** The payer's answer to one attempt of a valid item. */
  outcome(request: SimRequest): Outcome;
}

/** Counters of the batch pipeline, in the simulator's /__stats as `batch`. */
export interface BatchStats {
  readonly batchesCreated: number;
  readonly submitRequests: number;
  /** Submissions answered with an earlier batch because their Idempotency-Key was seen. */
  readonly replays: number;
  readonly itemsReceived: number;
  readonly itemsFinished: number;
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Items whose submitterTransactionIdentifier arrived in more than one batch. */
  readonly duplicateItems: number;
  /** Each batch's maxRetryHours as received, in creation order. */
  readonly maxRetryHours: readonly number[];
}

/** An HTTP answer of the batch API. */
export interface BatchReply {
  readonly status: number;
  readonly body: unknown;
}

const paging = {
  encode: (offset: number) => Buffer.from(String(offset)).toString('base64url'),
  decode: (token: string | null) =>
    token ? Number(Buffer.from(token, 'base64url').toString()) : 0,
};

/** The batch pipeline of one simulator. */
export class BatchPipeline {
  private readonly batches = new Map<string, Batch>();
  private readonly byKey = new Map<string, string>();
  private readonly seenIds = new Set<string>();
  private readonly queue: { batch: Batch; item: Item }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retryHours: number[] = [];
  private counts = {
    batchesCreated: 0,
    submitRequests: 0,
    replays: 0,
    itemsReceived: 0,
    itemsFinished: 0,
    maxInFlight: 0,
    duplicateItems: 0,
  };
  private inFlight = 0;
  private closed = false;

  constructor(private readonly rules: BatchRules) {}

  /** POST …/batch-eligibility. */
  submit(body: unknown, key: string, idempotencyKey: string | undefined): BatchReply {
    this.counts.submitRequests++;
    const known = idempotencyKey ? this.byKey.get(idempotencyKey) : undefined;
    const existing = known ? this.batches.get(known) : undefined;
    if (existing) {
      this.counts.replays++;
      return { status: 200, body: this.accepted(existing) };
    }
    const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const items = b.items;
    if (!Array.isArray(items) || items.length < 1 || items.length > 10_000)
      return { status: 400, body: { message: 'items must hold 1 to 10000 eligibility checks' } };
    const hours = b.maxRetryHours ?? 8;
    if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 8 || hours > 24)
      return {
        status: 400,
        body: { message: 'maxRetryHours must be a whole number from 8 to 24' },
      };
    const now = Date.now();
    const batch: Batch = {
      id: randomUUID(),
      name: typeof b.name === 'string' ? b.name : undefined,
      maxRetryHours: hours,
      createdAt: now,
      updatedAt: now,
      items: items.map((raw) => this.item(raw, key, now)),
    };
    this.batches.set(batch.id, batch);
    if (idempotencyKey) this.byKey.set(idempotencyKey, batch.id);
    this.counts.batchesCreated++;
    this.retryHours.push(hours);
    this.counts.itemsReceived += batch.items.length;
    for (const item of batch.items) {
      if (item.state === 'PENDING') this.queue.push({ batch, item });
      else if (finalStates.has(item.state)) this.counts.itemsFinished++;
    }
    this.pump();
    return { status: 200, body: this.accepted(batch) };
  }

  /** GET …/batch/{id}. */
  status(id: string): BatchReply {
    const batch = this.batches.get(id);
    if (!batch) return notFound(id);
    const count = (states: ItemState[]) =>
      batch.items.filter((i) => states.includes(i.state)).length;
    const success = count(['COMPLETED']);
    const errors = count(['FAILED', 'VALIDATION_FAILED']);
    const total = batch.items.length;
    return {
      status: 200,
      body: {
        id: batch.id,
        batchType: 'ELIGIBILITY',
        ...(batch.name ? { name: batch.name } : {}),
        status: success + errors === total ? 'COMPLETED' : 'IN_PROGRESS',
        totalCount: total,
        successCount: success,
        errorCount: errors,
        inProgressCount: total - success - errors,
        createdAt: new Date(batch.createdAt).toISOString(),
        updatedAt: new Date(batch.updatedAt).toISOString(),
      },
    };
  }

  /** GET …/batch/{id}/items: every item's state, paged (up to 1000). */
  items(id: string, query: URLSearchParams): BatchReply {
    const batch = this.batches.get(id);
    if (!batch) return notFound(id);
    const states = query.getAll('state');
    const list = batch.items.filter((i) => states.length === 0 || states.includes(i.state));
    return {
      status: 200,
      body: page(list, query, 100, 1_000, (i) => ({
        submitterTransactionIdentifier: i.submitterTransactionIdentifier,
        state: i.state,
        ...(i.problem ? { errors: [{ code: 'VALIDATION', description: i.problem }] } : {}),
        updatedAt: new Date(i.updatedAt).toISOString(),
      })),
    };
  }

  /** GET …/polling/batch-eligibility?batchId=: completed checks only, paged (up to 200). */
  results(query: URLSearchParams): BatchReply {
    const id = query.get('batchId');
    const batch = id ? this.batches.get(id) : undefined;
    if (!batch) return { status: 200, body: { items: [] } };
    const done = batch.items.filter((i) => i.result !== undefined);
    return { status: 200, body: page(done, query, 10, 200, (i) => i.result) };
  }

  stats(): BatchStats {
    return { ...this.counts, inFlight: this.inFlight, maxRetryHours: [...this.retryHours] };
  }

  /** Stops every pending timer; batches are forgotten. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private accepted(batch: Batch) {
    return { batchId: batch.id, submittedAt: new Date(batch.createdAt).toISOString() };
  }

  private item(raw: unknown, key: string, now: number): Item {
    const sti = (raw as { submitterTransactionIdentifier?: unknown } | null)
      ?.submitterTransactionIdentifier;
    const submitterTransactionIdentifier = typeof sti === 'string' ? sti : undefined;
    if (submitterTransactionIdentifier) {
      if (this.seenIds.has(submitterTransactionIdentifier)) this.counts.duplicateItems++;
      this.seenIds.add(submitterTransactionIdentifier);
    }
    const parsed = parseSimRequest('v3', raw);
    const base = { submitterTransactionIdentifier, attempts: 0, result: undefined, updatedAt: now };
    if (!parsed.ok) {
      const fields = parsed.issues.map((i) => i.path.join('.')).join(', ');
      return {
        ...base,
        request: undefined,
        problem: `invalid fields: ${fields}`,
        state: 'VALIDATION_FAILED',
      };
    }
    if (this.rules.refusal(parsed.request, key) === 'test-key')
      return {
        ...base,
        request: parsed.request,
        problem: 'test keys accept only Stedi mock requests',
        state: 'VALIDATION_FAILED',
      };
    return { ...base, request: parsed.request, problem: undefined, state: 'PENDING' };
  }

  /** Starts queued items while the pipeline has room. */
  private pump(): void {
    while (!this.closed && this.inFlight < this.rules.concurrency && this.queue.length > 0) {
      const next = this.queue.shift();
      if (!next) break;
      this.inFlight++;
      this.counts.maxInFlight = Math.max(this.counts.maxInFlight, this.inFlight);
      next.item.state = 'STARTED';
      next.item.attempts++;
      this.later(this.rules.latency.next(), () => {
        this.inFlight--;
        this.finishAttempt(next.batch, next.item);
        this.pump();
      });
    }
  }

  private finishAttempt(batch: Batch, item: Item): void {
    const request = item.request;
    if (!request) return;
    const now = Date.now();
    batch.updatedAt = item.updatedAt = now;
    const tag = {
      batchId: batch.id,
      submitterTransactionIdentifier: item.submitterTransactionIdentifier,
    };
    if (this.rules.refusal(request, '') === 'payer') {
      // Stedi's documented example: an unknown payer comes back as an error item, AAA 79.
      item.state = 'COMPLETED';
      item.result = {
        ...tag,
        status: 'ERROR',
        controlNumber: request.controlNumber ?? '000000000',
        tradingPartnerServiceId: request.payer,
        errors: [
          {
            code: '79',
            description: 'Invalid Participant Identification',
            followupAction: 'Please Correct and Resubmit',
            location: '2100A',
            possibleResolutions: `Payer ${request.payer} is not configured.`,
          },
        ],
      };
      this.counts.itemsFinished++;
      return;
    }
    const outcome = this.rules.outcome(request);
    const transient = outcome.kind === 'aaa' && (outcome.code === '42' || outcome.code === '80');
    const deadline = batch.createdAt + batch.maxRetryHours * 3_600_000 * this.rules.timeScale;
    if (transient && now + this.rules.retryMs < deadline) {
      // Payer connectivity: Stedi keeps the item and tries again later, unbilled.
      item.state = 'RETRYING';
      this.later(this.rules.retryMs, () => {
        this.queue.push({ batch, item });
        this.pump();
      });
      return;
    }
    const answer = eligibilityResponse(request, outcome, this.rules.random);
    item.state = transient ? 'FAILED' : 'COMPLETED';
    item.result = { ...tag, ...(outcome.kind === 'aaa' ? { status: 'ERROR' } : {}), ...answer };
    this.counts.itemsFinished++;
  }

  private later(ms: number, run: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) run();
    }, ms);
    this.timers.add(t);
  }
}

function notFound(id: string): BatchReply {
  return { status: 404, body: { message: `No batch with id ${id}` } };
}

/** One page of `list` as Stedi pages: `items` and, while more remain, `nextPageToken`. */
function page<T>(
  list: readonly T[],
  query: URLSearchParams,
  defaultSize: number,
  maxSize: number,
  show: (t: T) => unknown,
): Record<string, unknown> {
  const size = Math.min(
    maxSize,
    Math.max(1, Number(query.get('pageSize') ?? defaultSize) || defaultSize),
  );
  const from = paging.decode(query.get('pageToken'));
  const items = list.slice(from, from + size).map(show);
  return from + size < list.length
    ? { items, nextPageToken: paging.encode(from + size) }
    : { items };
}
