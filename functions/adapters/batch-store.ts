import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws-clients.ts';

export interface BatchRecord {
  readonly batchId: string;
  readonly name: string;
  readonly total: number;
  readonly jobIds: readonly string[];
  readonly createdAt: string;
}

export class BatchStore {
  constructor(private readonly tableName: string) {}

  async create(batch: BatchRecord): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: batch,
        ConditionExpression: 'attribute_not_exists(batchId)',
      }),
    );
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const { Item } = await dynamo().send(new GetCommand({ TableName: this.tableName, Key: { batchId } }));
    return Item as BatchRecord | undefined;
  }
}
