import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { JobLogEntry } from '#domain/jobs';
import { dynamo } from './aws-clients.ts';

export class JobLogStore {
  constructor(
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  async append(jobId: string, entry: JobLogEntry): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          jobId,
          // Timestamp first so a Query returns the log in order; the suffix keeps concurrent lines apart.
          logId: `${entry.timestamp}#${randomBytes(4).toString('hex')}`,
          ...entry,
          expiresAt: Math.floor(Date.parse(entry.timestamp) / 1000) + this.retentionDays * 86_400,
        },
      }),
    );
  }

  async list(jobId: string, limit = 1000): Promise<JobLogEntry[]> {
    const entries: JobLogEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'jobId = :jobId',
          ExpressionAttributeValues: { ':jobId': jobId },
          ExclusiveStartKey: startKey,
          Limit: limit - entries.length,
        }),
      );
      for (const item of page.Items ?? []) {
        entries.push({
          timestamp: item.timestamp,
          level: item.level,
          message: item.message,
          attempt: item.attempt,
          workerId: item.workerId,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && entries.length < limit);
    return entries;
  }
}
