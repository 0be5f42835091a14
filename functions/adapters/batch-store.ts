import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, isConditionFailure } from './aws-clients.ts';

export interface BatchRecord {
  readonly batchId: string;
  readonly name: string;
  readonly total: number;
  readonly jobIds: readonly string[];
  readonly createdAt: string;
  /** Its progress is counted off the stream (domain/batch-progress.ts): every batch made since. */
  readonly counted?: boolean;
}

export class BatchStore {
  constructor(
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  /** False when the batch exists already (the same request retried). */
  async create(batch: BatchRecord): Promise<boolean> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...batch, expiresAt: this.expiry(batch.createdAt) },
          ConditionExpression: 'attribute_not_exists(batchId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async setJobIds(batchId: string, jobIds: readonly string[]): Promise<void> {
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { batchId },
        UpdateExpression: 'SET jobIds = :ids',
        ExpressionAttributeValues: { ':ids': jobIds },
      }),
    );
  }

  async remove(batchId: string): Promise<void> {
    await dynamo().send(new DeleteCommand({ TableName: this.tableName, Key: { batchId } }));
  }

  /** A batch row outlives its jobs' retention (their longest, the dead ones'). */
  private expiry(createdAt: string): number {
    return Math.floor(Date.parse(createdAt) / 1000) + this.retentionDays * 86_400;
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const { Item } = await dynamo().send(new GetCommand({ TableName: this.tableName, Key: { batchId } }));
    return Item as BatchRecord | undefined;
  }
}
