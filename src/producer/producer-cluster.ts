/**
 * PRODUCER_PROCESSES > 1: a primary process forks that many producers sharing PORT through
 * node:cluster (the primary hands each new connection to the next producer), starts a new one if
 * one dies (up to 5 within a minute; then it stops with exit code 1 so the orchestrator sees the
 * failure), and stops them all on SIGTERM/SIGINT. /metrics stays one view of the whole
 * deployment: the producer asked forwards the scrape to the primary, which gathers every
 * producer's registry through prom-client's AggregatorRegistry.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../shared/logger.js';
import { RestartBudget } from './restart-budget.js';

const METRICS_REQUEST = 'eq:cluster-metrics-request';
const METRICS_REPLY = 'eq:cluster-metrics-reply';
const RESTART_DELAY_MS = 1_000;
const SCRAPE_TIMEOUT_MS = 10_000;

interface MetricsRequest {
  readonly type: typeof METRICS_REQUEST;
  readonly id: number;
}
interface MetricsReply {
  readonly type: typeof METRICS_REPLY;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

function isMessage<T extends { readonly type: string }>(m: unknown, type: T['type']): m is T {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
}

/** Whether this process is one producer of a cluster. */
export function inProducerCluster(): boolean {
  return cluster.isWorker;
}

/** Runs the primary: forks `count` producers and supervises them until a signal stops them. */
export function runProducerCluster(count: number, logger: Logger): void {
  const aggregator = new AggregatorRegistry();
  const served = new WeakSet<Worker>();
  const restarts = new RestartBudget();
  let stopping = false;

  cluster.on('listening', (worker) => served.add(worker));
  cluster.on('exit', (worker, code, signal) => {
    const pid = worker.process.pid;
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (!served.has(worker)) {
      // It died before listening (bad configuration, port taken): restarting would only loop.
      logger.fatal({ pid, code, signal }, 'a producer process failed to start; stopping');
      process.exitCode = 1;
      stop();
      return;
    }
    if (!restarts.take()) {
      logger.fatal({ pid, code, signal }, 'producer processes keep dying; stopping');
      process.exitCode = 1;
      stop();
      return;
    }
    logger.error({ pid, code, signal }, 'a producer process died; starting another');
    setTimeout(() => {
      // A stop that came meanwhile waits for the running producers only.
      if (!stopping) cluster.fork();
    }, RESTART_DELAY_MS);
  });
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage<MetricsRequest>(message, METRICS_REQUEST)) return;
    const reply = (r: Omit<MetricsReply, 'type' | 'id'>) =>
      worker.send({ type: METRICS_REPLY, id: message.id, ...r } satisfies MetricsReply);
    aggregator.clusterMetrics().then(
      (text) => reply({ text }),
      (err: Error) => reply({ error: err.message }),
    );
  });

  function stop(): void {
    if (stopping) {
      logger.warn('second signal: exiting without waiting for the producers');
      process.exit(130);
    }
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(process.exitCode ?? 0);
    for (const w of workers) w?.process.kill('SIGTERM');
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (let i = 0; i < count; i++) cluster.fork();
  logger.info({ processes: count }, 'producer cluster started');
}

/** In a cluster's producer: lets the primary gather `registry`; returns how to scrape them all. */
export function clusterMetricsSource(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // Installs prom-client's answer to the primary's gathering requests.
  let next = 0;
  const waiting = new Map<number, (reply: MetricsReply) => void>();
  process.on('message', (message: unknown) => {
    if (isMessage<MetricsReply>(message, METRICS_REPLY)) waiting.get(message.id)?.(message);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(
          new Error(`the producer cluster gathered no metrics within ${SCRAPE_TIMEOUT_MS} ms`),
        );
      }, SCRAPE_TIMEOUT_MS);
      waiting.set(id, (reply) => {
        clearTimeout(timer);
        waiting.delete(id);
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply.text ?? '');
      });
      process.send?.({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
    });
}
