import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Where and how to reach DynamoDB. */
export interface DynamoClientOptions {
  /** Unset: AWS in `region`. Set: DynamoDB Local, dynalite or another compatible endpoint. */
  readonly endpoint?: string | undefined;
  readonly region: string;
  /** SDK attempts per request, in total, before an error reaches the semaphore. @defaultValue 3 */
  readonly maxAttempts?: number;
}

/** Creates a DynamoDB client; local endpoints get placeholder credentials when none are set. */
export function createDynamoClient(options: DynamoClientOptions): DynamoDBClient {
  const local = options.endpoint !== undefined;
  const hasCredentials = process.env.AWS_ACCESS_KEY_ID !== undefined;
  return new DynamoDBClient({
    region: options.region,
    maxAttempts: options.maxAttempts ?? 3,
    // Requests are bounded by their callers' abort signals (the semaphore store's deadline),
    // not by the handler's timeouts: its requestTimeout with throwOnRequestTimeout destroys the
    // request with an error nobody listens for (it crashed a worker when DynamoDB stopped
    // answering), and its connectionTimeout also counts the wait for a pooled socket, so a burst
    // of claims failed by the hundred at L = 200.
    ...(local ? { endpoint: options.endpoint } : {}),
    // DynamoDB Local and dynalite accept any credentials; AWS uses its default provider chain.
    ...(local && !hasCredentials
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
}

/** Counts the HTTP requests a client sends (each SDK retry included), for metrics and benchmarks. */
export function countDynamoRequests(client: DynamoDBClient): { readonly count: () => number } {
  let sent = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      sent += 1;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countDynamoRequests', priority: 'low' },
  );
  return { count: () => sent };
}
