/**
 * Redis did not answer a request's work in time, or its connection is down. What was sent may still
 * run when Redis answers again, so the caller cannot tell whether it took effect.
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ioredis's messages for a command that got no answer or could not be sent.
const connectionFailure =
  /Command timed out|Stream isn't writeable|Connection is closed|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT/;

/** Whether `err` says Redis did not answer (rather than refusing a command it ran). */
export function isRedisUnavailable(err: unknown): boolean {
  return (
    err instanceof RedisUnavailableError ||
    (err instanceof Error && connectionFailure.test(`${err.name} ${err.message}`))
  );
}
