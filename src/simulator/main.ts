/** `npm run simulator`: a Stedi simulator on SIMULATOR_PORT (settings in README, "Stedi simulator"). */
import { loadSimulatorEnv } from './options.js';
import { ELIGIBILITY_CHECK_PATH, ELIGIBILITY_V3_PATH } from '../shared/stedi-api.js';
import { startSimulator } from './server.js';

const { options, port, host } = loadSimulatorEnv();
const sim = await startSimulator({ ...options, port, host });
console.log(
  `Stedi simulator on ${sim.url}${ELIGIBILITY_V3_PATH} and ${ELIGIBILITY_CHECK_PATH} ` +
    `(allocation ${options.concurrency}, ` +
    `median ${options.latency.medianMs} ms x${options.timeScale}); stats at ${sim.url}/__stats`,
);
const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
