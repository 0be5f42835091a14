/**
 * The API keys table: one row per key, keyed by the key's SHA-256 (the authorizer's one read per
 * request it has not seen lately); `byKeyId` finds a key by its public id for revocation.
 * Revoked rows expire after the retention; live keys never do.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord } from '#domain/access';
import { dynamo, isConditionFailure } from './aws-clients.ts';

export const apiKeysTable = {
  partitionKey: 'keyHash',
  byKeyId: 'byKeyId',
} as const;

const retentionDays = 90;

export class ApiKeyStore {
  constructor(
    private readonly tableName: string,
    private readonly client: () => DynamoDBDocumentClient = dynamo,
  ) {}

  /** False when a key with this hash exists already. */
  async create(record: ApiKeyRecord): Promise<boolean> {
    try {
      await this.client().send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(keyHash)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async findByHash(keyHash: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.client().send(
      new GetCommand({ TableName: this.tableName, Key: { keyHash }, ConsistentRead: true }),
    );
    return Item as ApiKeyRecord | undefined;
  }

  async findById(keyId: string): Promise<ApiKeyRecord | undefined> {
    const { Items = [] } = await this.client().send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: apiKeysTable.byKeyId,
        KeyConditionExpression: 'keyId = :id',
        ExpressionAttributeValues: { ':id': keyId },
      }),
    );
    const hash = (Items[0] as { keyHash?: string } | undefined)?.keyHash;
    return hash ? this.findByHash(hash) : undefined;
  }

  /** Every key, revoked ones included (a handful of rows: a scan is the right read). */
  async list(): Promise<ApiKeyRecord[]> {
    const keys: ApiKeyRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client().send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: start, ConsistentRead: true }),
      );
      keys.push(...((page.Items ?? []) as ApiKeyRecord[]));
      start = page.LastEvaluatedKey;
    } while (start);
    return keys.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Revokes a live key; undefined when it was revoked already (or never existed). */
  async revoke(keyHash: string, by: string, now: Date): Promise<ApiKeyRecord | undefined> {
    try {
      const { Attributes } = await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { keyHash },
          UpdateExpression: 'SET revokedAt = :now, revokedBy = :by, expiresAt = :expires',
          ConditionExpression: 'attribute_exists(keyHash) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: {
            ':now': now.toISOString(),
            ':by': by,
            ':expires': Math.floor(now.getTime() / 1000) + retentionDays * 86_400,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as ApiKeyRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Records that the key was used (the authorizer calls it at most every few minutes per key). */
  async touch(keyHash: string, now: Date): Promise<void> {
    try {
      await this.client().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { keyHash },
          UpdateExpression: 'SET lastUsedAt = :now',
          ConditionExpression: 'attribute_exists(keyHash)',
          ExpressionAttributeValues: { ':now': now.toISOString() },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
