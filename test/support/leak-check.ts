/**
 * Fails a test file that leaves child processes running: a worker or semaphore left behind
 * would hold slots and skew the next test.
 */
import { afterAll, expect } from 'vitest';
import { runningChildren } from './children.js';

afterAll(() => {
  expect(runningChildren(), 'child processes left running by this file').toEqual([]);
});
