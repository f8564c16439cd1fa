/**
 * Starts one real redis-server and one dynalite for the whole run. Each test isolates itself with
 * its own queue prefix and table or semaphore name (see names.ts), so nothing is shared by accident.
 */
import type { TestProject } from 'vitest/node';
import { startLocalRedis, type LocalRedis } from '../../src/shared/local/redis-server.js';
import { startChildDynalite, type LocalDynamo } from '../../src/shared/local/dynalite-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    dynamoEndpoint: string;
  }
}

let redis: LocalRedis | undefined;
let dynamo: LocalDynamo | undefined;

export async function setup(project: TestProject): Promise<void> {
  redis = await startLocalRedis();
  dynamo = await startChildDynalite();
  project.provide('redisUrl', redis.url);
  project.provide('dynamoEndpoint', dynamo.endpoint);
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([redis?.stop(), dynamo?.stop()]);
}
