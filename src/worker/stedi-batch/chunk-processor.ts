/**
 * The BullMQ processor of the chunks queue. A chunk's states: not submitted (submit it), submitted
 * (poll it), settling (only hand-overs left). Between steps the chunk waits delayed, so no process
 * is kept busy and a restart picks it up where it was; BullMQ's lock on the job makes its worker
 * the only poller of that batch across all processes.
 */
import type { Job } from 'bullmq';
import type { ChunkJobData } from '../../shared/stedi-batch/routed-jobs.js';
import {
  handOverAll,
  comeBack,
  finished,
  noOutcome,
  type ChunkDeps,
  type ChunkResult,
} from './chunk-steps.js';
import { pollChunk } from './poll-chunk.js';
import { submitChunk } from './submit-chunk.js';

/** Builds the chunks queue's processor. */
export function chunkProcessor(deps: ChunkDeps) {
  return async (job: Job<ChunkJobData>, token?: string): Promise<ChunkResult> => {
    const log = deps.logger.child({ chunkId: job.id, stediBatchId: job.data.stediBatchId });
    const run = { job, token, deps, log };
    if (job.data.settling) {
      const left = await handOverAll(run, job.data.unsettled ?? [], () => noOutcome);
      if (left.length === 0) return finished(run);
      return comeBack(run, deps.pollMs, { unsettled: left });
    }
    return job.data.stediBatchId ? pollChunk(run) : submitChunk(run);
  };
}
