/**
 * Puts the answer cache in front of a check processor: a check identical to a recent definitive
 * answer is answered from the cache with no slot and no Stedi call; identical checks in flight
 * share the first one's call. Only what the processor returns is cached, and it returns only
 * definitive answers (clean, inactive, AAA 43/72/73/75/79): failures and AAA 42/80 throw and are
 * never cached. A check's own `cacheMaxAgeSeconds` (0: no cached answer) bounds what it accepts.
 */
import type { Job } from 'bullmq';
import { Counter, type Registry } from 'prom-client';
import type { CheckJobData, CheckJobResult } from '../../shared/check-job.js';
import type { ValueCipher } from '../../shared/crypto/data-cipher.js';
import type { Logger } from '../../shared/logger.js';
import { checkRequestSchema } from '../../shared/schemas/check-request.js';
import { convertRequest } from '../../shared/schemas/request-conversion.js';
import type { EligibilityEndpoint } from '../../shared/stedi-api.js';
import type { CheckProcessor } from '../job-lock-keeper.js';
import type { AnswerCache } from './answer-cache.js';

/** Cache metrics: hits, checks that shared another's call, and the Stedi calls both saved. */
export interface AnswerCacheMetrics {
  readonly hits: Counter;
  readonly coalesced: Counter;
  readonly saved: Counter;
}

/** Registers the answer cache's metrics on `registry`. */
export function answerCacheMetrics(registry: Registry): AnswerCacheMetrics {
  const r = [registry];
  return {
    hits: new Counter({
      name: 'eq_answer_cache_hits_total',
      help: 'Checks answered from the answer cache',
      registers: r,
    }),
    coalesced: new Counter({
      name: 'eq_answer_coalesced_total',
      help: 'Checks answered by an identical check in flight (one Stedi call for both)',
      registers: r,
    }),
    saved: new Counter({
      name: 'eq_stedi_calls_saved_total',
      help: 'Stedi calls not made thanks to the answer cache and coalescing',
      registers: r,
    }),
  };
}

/** What the cached processor needs. */
export interface CachedProcessorDeps {
  readonly cache: AnswerCache;
  readonly cipher: ValueCipher;
  readonly endpoint: EligibilityEndpoint;
  readonly metrics: AnswerCacheMetrics;
  readonly logger: Logger;
  /** How long a leader may hold a key (ms): Stedi's time limit and a margin. */
  readonly leadMs: number;
  /** How often a follower looks for the leader's answer (ms). @defaultValue 100 */
  readonly pollMs?: number;
}

/** Wraps `inner` with the answer cache and coalescing. */
export function cachedProcessor(inner: CheckProcessor, deps: CachedProcessorDeps): CheckProcessor {
  const pollMs = deps.pollMs ?? 100;
  return async (job, token) => {
    const maxAge = job.data.cacheMaxAgeSeconds ?? deps.cache.maxAgeSeconds;
    const key = maxAge > 0 ? keyOf(job, deps) : undefined;
    if (!key) return inner(job, token);
    const hit = await deps.cache.get(key, maxAge).catch(() => undefined);
    if (hit) return served(hit.result, 'hits', deps);
    const owner = job.id ?? '';
    // One call per key at a time: whoever holds the lease calls; the others wait for its answer
    // and take the lease over if it ends without one (a parked, failed or crashed leader). Each
    // look takes the lease if it is free and reads the answer in the same round trip.
    const deadline = Date.now() + deps.leadMs;
    let leader: boolean;
    for (let waited = false; ; waited = true) {
      const look = await deps.cache
        .lead(key, owner, deps.leadMs, maxAge)
        .catch(() => ({ leader: true, stored: undefined }));
      leader = look.leader;
      if (look.stored) {
        // Landed just before this check took the lease (a hit), or another check's call answered.
        if (leader) await deps.cache.endLead(key, owner).catch(() => undefined);
        return served(look.stored.result, leader && !waited ? 'hits' : 'coalesced', deps);
      }
      if (leader || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    let result: CheckJobResult;
    try {
      result = await inner(job, token);
    } catch (err) {
      if (leader) await deps.cache.endLead(key, owner).catch(() => undefined);
      throw err;
    }
    await deps.cache
      .put(key, result, leader ? owner : undefined)
      .catch((err: unknown) =>
        deps.logger.warn({ err: (err as Error).message }, 'answer cache write failed'),
      );
    return result;
  };
}

function served(
  result: CheckJobResult,
  how: 'hits' | 'coalesced',
  deps: CachedProcessorDeps,
): CheckJobResult {
  deps.metrics[how].inc();
  deps.metrics.saved.inc();
  return { ...result, cached: true };
}

/** The cache key of a job's request; undefined when it cannot be read (the processor says why). */
function keyOf(job: Job<CheckJobData, CheckJobResult>, deps: CachedProcessorDeps) {
  try {
    const parsed = checkRequestSchema.safeParse(deps.cipher.open(job.data.request));
    if (!parsed.success) return undefined;
    const body = convertRequest(parsed.data, deps.endpoint);
    return body.ok
      ? deps.cache.keyOf(job.data.submittedBy ?? '', deps.endpoint, body.body)
      : undefined;
  } catch {
    return undefined;
  }
}
