/**
 * `--scenario repeats`: L = 15, R = 5, 4 workers, ~300 ms calls; a run of 600 batch checks of
 * which 30% repeat an earlier check of the run (the same patient and question, another control
 * number), once with the answer cache off and once with ANSWER_CACHE_MAX_AGE_SECONDS=3600. Counts
 * Stedi calls at the simulator and compares each check's answer (status, AAA codes, summary and
 * full answer) with the uncached run's.
 */
import { seededRandom } from '../../../src/shared/random.js';
import type { CheckJobResult } from '../../../src/shared/check-job.js';
import type { EligibilityRequest } from '../../../src/shared/schemas/eligibility-request.js';
import { enqueueBatch, round, tally, waitAll, type Figures } from '../checks.js';
import { checkRequest } from '../requests.js';
import type { Stack } from '../stack.js';
import { inKeyedStack, type Infra } from './keyed-stack.js';

const CHECKS = 600;
const REPEAT_SHARE = 0.3;

/** 600 checks, 30% of them repeats of an earlier one (payers 87726 and 60054). */
function requests(): EligibilityRequest[] {
  const random = seededRandom(14);
  const out: EligibilityRequest[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const repeat = i > 0 && random() < REPEAT_SHARE;
    const source = repeat ? out[Math.floor(random() * out.length)] : undefined;
    out.push(
      source
        ? { ...source, controlNumber: String(100000000 + i) }
        : {
            ...checkRequest(`R${i}`, i % 3 === 0 ? '60054' : '87726'),
            controlNumber: String(100000000 + i),
          },
    );
  }
  return out;
}

/**
 * An answer less what identifies one call rather than the answer: Stedi's per-call `id` and
 * `meta.traceId`, and the echoed X12 `controlNumber` / `reassociationKey`.
 */
function withoutCallIds(answer: unknown): unknown {
  if (!answer || typeof answer !== 'object') return answer;
  const { id, meta, controlNumber, reassociationKey, ...rest } = answer as Record<string, unknown>;
  void [id, meta, controlNumber, reassociationKey];
  return rest;
}

/** What each check answered, comparable across runs. */
type Answers = string[];

/** Runs the same checks without and with the answer cache. */
export async function repeatsScenario(infra: Infra): Promise<Record<string, Figures>> {
  const list = requests();
  const distinct = new Set(list.map((r) => JSON.stringify({ ...r, controlNumber: '' }))).size;
  const off = await run(infra, list, '0');
  const on = await run(infra, list, '3600');
  const same = on.answers.filter((a, i) => a === off.answers[i]).length;
  return {
    repeats: {
      checks: CHECKS,
      repeatedChecks: CHECKS - distinct,
      stediCallsUncached: off.calls,
      stediCallsCached: on.calls,
      fewerCallsThanChecks: round(1 - on.calls / CHECKS),
      cacheHits: on.hits,
      coalesced: on.coalesced,
      answersIdenticalToUncached: `${same}/${CHECKS}`, // call ids aside
      secondsUncached: off.seconds,
      secondsCached: on.seconds,
      lostChecks: off.lost + on.lost,
    },
  };
}

function run(infra: Infra, list: readonly EligibilityRequest[], cacheSeconds: string) {
  return inKeyedStack(
    infra,
    `repeats-${cacheSeconds}`,
    { env: { ANSWER_CACHE_MAX_AGE_SECONDS: cacheSeconds } },
    async (stack) => {
      const t0 = Date.now();
      const jobs = await enqueueBatch(stack, list);
      await waitAll(jobs);
      const t = await tally(stack, jobs);
      return {
        calls: stack.simulator.stats().requests,
        hits: await stack.sumMetric('eq_answer_cache_hits_total'),
        coalesced: await stack.sumMetric('eq_answer_coalesced_total'),
        seconds: round((t.lastFinish - t0) / 1000),
        lost: t.lost,
        answers: await answers(
          stack,
          jobs.map((j) => j.id ?? ''),
        ),
      };
    },
  );
}

async function answers(stack: Stack, ids: readonly string[]): Promise<Answers> {
  return Promise.all(
    ids.map(async (id) => {
      const job = await stack.queues.get(id);
      const r = job?.returnvalue;
      if (!job || !r) return `failed:${job?.failedReason ?? 'missing'}`;
      const open = (s: CheckJobResult['response'] | undefined) =>
        s ? stack.queues.cipher.open(s) : null;
      return JSON.stringify([r.aaaCodes, open(r.summary), withoutCallIds(open(r.response))]);
    }),
  );
}
