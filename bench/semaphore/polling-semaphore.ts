/**
 * The baseline: Stedi's published reference design, rebuilt for comparison. A COUNT item is
 * incremented under `count < L`, then a LOCK#<id> item is written; release deletes the lock and
 * decrements. A refused caller sleeps an exponentially growing, jittered time and tries again.
 * Its defects (two writes that can drift apart, no renewal) are the issue's; here it only serves
 * to measure how polling leaves slots idle.
 */
import { randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** Backoff of a refused acquire, in ms. */
export interface PollingBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** The reference semaphore: count item plus lock items, polled with exponential backoff. */
export class PollingSemaphore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly name: string,
    private readonly capacity: number,
    private readonly backoff: PollingBackoff,
    private readonly leaseMs = 90_000,
  ) {}

  /** Seeds the COUNT item (the reference refuses every acquire until this is done). */
  async seed(): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { pk: { S: `POLL#${this.name}` }, sk: { S: 'COUNT' }, count: { N: '0' } },
      }),
    );
  }

  /** Polls until the count admits us; returns the lock id. */
  async acquire(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: `POLL#${this.name}` }, sk: { S: 'COUNT' } },
            UpdateExpression: 'SET #c = #c + :one',
            ConditionExpression: '#c < :limit',
            ExpressionAttributeNames: { '#c': 'count' },
            ExpressionAttributeValues: {
              ':one': { N: '1' },
              ':limit': { N: String(this.capacity) },
            },
          }),
        );
        const id = randomUUID();
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: {
              pk: { S: `POLL#${this.name}` },
              sk: { S: `LOCK#${id}` },
              expiresAt: { N: String(Date.now() + this.leaseMs) },
            },
          }),
        );
        return id;
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        // Exponential backoff with "equal jitter": half fixed, half random.
        const ceiling = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** attempt);
        await new Promise((r) => setTimeout(r, ceiling / 2 + (Math.random() * ceiling) / 2));
      }
    }
  }

  /** Deletes the lock, then gives the count back. */
  async release(id: string): Promise<void> {
    await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: { pk: { S: `POLL#${this.name}` }, sk: { S: `LOCK#${id}` } },
      }),
    );
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: { S: `POLL#${this.name}` }, sk: { S: 'COUNT' } },
        UpdateExpression: 'SET #c = #c - :one',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
  }
}
