/**
 * `npm run worker`: one worker process. SIGTERM/SIGINT stop it gracefully (no new checks, running
 * calls finish, slots released, exit 0); a second signal exits at once, and the slots then follow
 * the lease rules (in-call slots stay taken until Stedi's bound).
 */
import { loadConfig } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { startWorkerApp } from './worker-app.js';

const config = loadConfig();
const logger = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
const app = await startWorkerApp(config, logger);

let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  }
  logger.info({ signal }, 'stopping: finishing running checks');
  app.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err: String(err) }, 'error while stopping');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
