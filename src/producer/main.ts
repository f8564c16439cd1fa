/**
 * `npm run producer`: the REST API and Bull Board on PORT, in PRODUCER_PROCESSES processes.
 * SIGTERM/SIGINT close it; a second signal exits at once.
 */
import cluster from 'node:cluster';
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { runProducerCluster } from './producer-cluster.js';
import { startProducer } from './producer-server.js';

const config = loadConfig();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'producer' });
if (config.PRODUCER_PROCESSES > 1 && cluster.isPrimary) {
  runProducerCluster(config.PRODUCER_PROCESSES, logger);
} else {
  const server = await startProducer(config, logger);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(130);
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  // In a cluster the primary turns a terminal's Ctrl-C into one SIGTERM for each producer.
  process.on('SIGINT', cluster.isWorker ? () => undefined : stop);
}
