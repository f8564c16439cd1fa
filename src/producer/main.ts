/** `npm run producer`: the REST API and Bull Board on PORT. SIGTERM/SIGINT close it. */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startProducer } from './producer-server.js';

const config = loadConfig();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'producer' });
const server = await startProducer(config, logger);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
