import {
  startSimulator,
  type Simulator,
  type StartSimulatorOptions,
} from '../../src/simulator/server.js';
import { closedAfterEach } from './closed-after-each.js';

/**
 * `start` for simulator tests: a simulator answering in 5 ms unless `defaults` or the test says
 * otherwise, closed after each test.
 */
export function simulatorPerTest(
  defaults: StartSimulatorOptions = {},
): (options?: StartSimulatorOptions) => Promise<Simulator> {
  const keep = closedAfterEach();
  return async (options = {}) =>
    keep(
      await startSimulator({
        latency: { medianMs: 5, sigma: 0, maxMs: 1_000 },
        ...defaults,
        ...options,
      }),
    );
}
