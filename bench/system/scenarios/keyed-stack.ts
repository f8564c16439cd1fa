/** The stack the keyed scenarios share: L = 15, R = 5, 4 workers, ~300 ms calls. */
import type { LocalDynamo } from '../../../src/shared/local/dynalite-server.js';
import type { LocalRedis } from '../../../src/shared/local/redis-server.js';
import { round, type Figures } from '../checks.js';
import { startStack, type Stack, type StackOptions } from '../stack.js';

/** Redis and dynalite shared by every run of a benchmark. */
export interface Infra {
  readonly redis: LocalRedis;
  readonly dynamo: LocalDynamo;
}

/** The allocation of the keyed scenarios. */
export const L = 15;

/** Starts a keyed-scenario stack named `name`, with per-payer profiles and extra settings. */
export function keyedStack(
  infra: Infra,
  name: string,
  extra: Pick<StackOptions, 'payers' | 'env' | 'batchApi'> = {},
): Promise<Stack> {
  return startStack(
    {
      allocation: L,
      reserved: 5,
      workers: 4,
      latencyMedianMs: 300,
      latencySigma: 0.3,
      stediTimeoutMs: 90_000,
      name: `${name}-${Date.now()}`,
      ...extra,
    },
    infra,
  );
}

/** Runs `run` in a fresh keyed stack and stops the stack whatever happens. */
export async function inKeyedStack<T = Figures>(
  infra: Infra,
  name: string,
  extra: Pick<StackOptions, 'payers' | 'env' | 'batchApi'>,
  run: (stack: Stack) => Promise<T>,
): Promise<T> {
  const stack = await keyedStack(infra, name, extra);
  try {
    stack.simulator.resetStats();
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

/** `figure` of a run as a share of the same figure in its baseline. */
export function shareOf(run: Figures, baseline: Figures, figure: string): number {
  return round(Number(run[figure]) / Number(baseline[figure]));
}
