/**
 * SemaphoreStore over DynamoDB. Every write is one conditional UpdateItem on one slot item, and
 * each is idempotent for its owner, so an SDK retry of a write that did land cannot make us
 * believe we lost a slot we hold (or hold one we do not).
 */
import {
  ConditionalCheckFailedException,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { SemaphoreStoreError } from '../errors/semaphore-store-error.js';
import type { ClaimWrite, ReclaimCutoffs, SemaphoreStore, SlotRecord } from './types.js';

type Item = Record<string, AttributeValue>;

const pk = (name: string) => `SEM#${name}`;
const sk = (slot: number) => `SLOT#${String(slot).padStart(4, '0')}`;
const key = (name: string, slot: number): Item => ({ pk: { S: pk(name) }, sk: { S: sk(slot) } });
const num = (n: number): AttributeValue => ({ N: String(n) });

// "owner" and "pool" are DynamoDB reserved words, hence the placeholders.
const names = { '#owner': 'owner', '#pool': 'pool' };
const takeoverCondition =
  'attribute_not_exists(#owner) OR #owner = :owner OR ' +
  '(leaseUntil < :leaseCut AND (attribute_not_exists(callStartedAt) OR callStartedAt < :callCut))';

// A claim of a slot the claimer saw free; its own owner id again is an SDK retry of a claim
// that landed.
const freeCondition = 'attribute_not_exists(#owner) OR #owner = :owner';

/** Narrowed DynamoDB client: the one call the store makes. */
export type DynamoSender = Pick<DynamoDBClient, 'send'>;

/** Store of semaphore slots in one DynamoDB table. */
export class DynamoSemaphoreStore implements SemaphoreStore {
  /**
   * `requestTimeoutMs` aborts each operation (its SDK retries included) after that long, so a
   * DynamoDB that stops answering frees the socket instead of holding it for minutes.
   */
  constructor(
    private readonly client: DynamoSender,
    private readonly tableName: string,
    private readonly options: { readonly requestTimeoutMs?: number | undefined } = {},
  ) {}

  private sendOptions(): { abortSignal?: AbortSignal } {
    const ms = this.options.requestTimeoutMs;
    return ms === undefined ? {} : { abortSignal: AbortSignal.timeout(ms) };
  }

  async listSlots(name: string): Promise<SlotRecord[]> {
    const records: SlotRecord[] = [];
    let startKey: Item | undefined;
    do {
      const page: QueryCommandOutput = await this.run('listSlots', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: pk(name) } },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
          this.sendOptions(),
        ),
      );
      for (const item of page.Items ?? []) records.push(toRecord(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return records;
  }

  async claim(
    name: string,
    slot: number,
    write: ClaimWrite,
    cutoffs: ReclaimCutoffs,
  ): Promise<boolean> {
    const values: Item = {
      ':owner': { S: write.owner },
      ':pool': { S: write.pool },
      ':now': num(write.now),
      ':leaseUntil': num(write.leaseUntil),
      ':slot': num(slot),
      ...(write.seenFree
        ? {}
        : {
            ':leaseCut': num(cutoffs.leaseEndedBefore),
            ':callCut': num(cutoffs.callStartedBefore),
          }),
    };
    let update =
      'SET #owner = :owner, #pool = :pool, acquiredAt = :now, leaseUntil = :leaseUntil, slot = :slot';
    if (write.callStartedAt !== undefined) {
      update += ', callStartedAt = :callStartedAt';
      values[':callStartedAt'] = num(write.callStartedAt);
    } else {
      update += ' REMOVE callStartedAt';
    }
    return this.conditional(
      'claim',
      name,
      slot,
      update,
      `(${write.seenFree ? freeCondition : takeoverCondition}) AND ` +
        '(attribute_not_exists(fence) OR fence < :now)',
      values,
    );
  }

  async renew(
    name: string,
    slot: number,
    owner: string,
    leaseUntil: number,
    callStartedAt?: number,
  ): Promise<boolean> {
    const values: Item = { ':owner': { S: owner }, ':leaseUntil': num(leaseUntil) };
    let update = 'SET leaseUntil = :leaseUntil';
    // Monotone: a late-landing older renewal is refused rather than lowering the lease or cover.
    let condition =
      '#owner = :owner AND (attribute_not_exists(leaseUntil) OR leaseUntil <= :leaseUntil)';
    if (callStartedAt !== undefined) {
      update += ', callStartedAt = :callStartedAt';
      values[':callStartedAt'] = num(callStartedAt);
      condition += ' AND (attribute_not_exists(callStartedAt) OR callStartedAt <= :callStartedAt)';
    }
    return this.conditional('renew', name, slot, update, condition, values);
  }

  async release(name: string, slot: number, owner: string, fenceAt?: number): Promise<boolean> {
    // Already free counts as released: an SDK retry of a release that landed must not report loss.
    const values: Item = { ':owner': { S: owner } };
    let update = 'REMOVE #owner, #pool, acquiredAt, leaseUntil, callStartedAt';
    if (fenceAt !== undefined) {
      update = `SET fence = :fence ${update}`;
      values[':fence'] = num(fenceAt);
    }
    return this.conditional(
      'release',
      name,
      slot,
      update,
      '#owner = :owner OR attribute_not_exists(#owner)',
      values,
    );
  }

  async fence(name: string, slot: number, fenceAt: number): Promise<void> {
    // Only ever raised: a fence refuses claims sent at or before it, never the holder's writes.
    await this.conditional(
      'fence',
      name,
      slot,
      'SET fence = :fence',
      'attribute_not_exists(fence) OR fence < :fence',
      { ':fence': num(fenceAt) },
    );
  }

  async forceRelease(name: string, slot: number, cutoffs: ReclaimCutoffs | null): Promise<boolean> {
    if (cutoffs === null) {
      return this.conditional(
        'forceRelease',
        name,
        slot,
        'REMOVE #owner, #pool, acquiredAt, leaseUntil, callStartedAt',
        'attribute_exists(pk)',
        undefined,
      );
    }
    return this.conditional(
      'forceRelease',
      name,
      slot,
      'REMOVE #owner, #pool, acquiredAt, leaseUntil, callStartedAt',
      takeoverCondition.replace(' OR #owner = :owner', ''),
      { ':leaseCut': num(cutoffs.leaseEndedBefore), ':callCut': num(cutoffs.callStartedBefore) },
    );
  }

  private async conditional(
    operation: string,
    name: string,
    slot: number,
    update: string,
    condition: string,
    values: Item | undefined,
  ): Promise<boolean> {
    // DynamoDB refuses placeholders an expression does not use, so pass only the used ones.
    const attributeNames = Object.fromEntries(
      Object.entries(names).filter(([n]) => update.includes(n) || condition.includes(n)),
    );
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(name, slot),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(Object.keys(attributeNames).length
            ? { ExpressionAttributeNames: attributeNames }
            : {}),
          ...(values ? { ExpressionAttributeValues: values } : {}),
        }),
        this.sendOptions(),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw new SemaphoreStoreError(operation, { cause: err });
    }
  }

  private async run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw new SemaphoreStoreError(operation, { cause: err });
    }
  }
}

function toRecord(item: Item): SlotRecord {
  const n = (a: AttributeValue | undefined) => (a?.N === undefined ? undefined : Number(a.N));
  const slot = n(item.slot) ?? Number((item.sk?.S ?? '').replace('SLOT#', ''));
  const record: { -readonly [K in keyof SlotRecord]: SlotRecord[K] } = { slot };
  if (item.owner?.S !== undefined) record.owner = item.owner.S;
  if (item.pool?.S === 'realtime' || item.pool?.S === 'batch') record.pool = item.pool.S;
  const acquiredAt = n(item.acquiredAt);
  if (acquiredAt !== undefined) record.acquiredAt = acquiredAt;
  const leaseUntil = n(item.leaseUntil);
  if (leaseUntil !== undefined) record.leaseUntil = leaseUntil;
  const callStartedAt = n(item.callStartedAt);
  if (callStartedAt !== undefined) record.callStartedAt = callStartedAt;
  return record;
}
