/**
 * Structured logging (pino). Patient fields are redacted by path as a second line of defence; the
 * first is that code never passes request bodies or Stedi answers to the logger at all.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

/** Paths pino replaces with [redacted], wherever such objects are logged by mistake. */
export const patientDataPaths = [
  'request',
  'response',
  'body',
  '*.request',
  '*.response',
  '*.subscriber',
  '*.dependents',
  '*.memberId',
  '*.firstName',
  '*.lastName',
  '*.dateOfBirth',
  'subscriber',
  'dependents',
  'memberId',
  'firstName',
  'lastName',
  'dateOfBirth',
];

/** Creates the process logger; `destination` is for tests that read every line. */
export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: NodeJS.WritableStream,
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: patientDataPaths, censor: '[redacted]' },
    ...(options.name ? { name: options.name } : {}),
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}

export type { Logger };
