import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws-clients.ts';

export interface OutboxMail {
  readonly jobId: string;
  readonly to: string;
  readonly from?: string;
  readonly cc: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly sentAt: string;
}

/**
 * The e-mail outbox: one row per mail, partitioned by day, sorted by time. The key includes the
 * job id, so a retried delivery overwrites its own row instead of adding a second mail.
 */
export class OutboxStore {
  constructor(
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  async deliver(mail: OutboxMail): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          day: mail.sentAt.slice(0, 10),
          mailId: `${mail.jobId}`,
          ...mail,
          expiresAt: Math.floor(Date.parse(mail.sentAt) / 1000) + this.retentionDays * 86_400,
        },
      }),
    );
  }

  async list(day: string, limit: number, cursor?: Record<string, unknown>) {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#day = :day',
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: { ':day': day },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    return {
      mails: (page.Items ?? []).map(({ day: _d, mailId: _m, expiresAt: _e, ...mail }) => mail as OutboxMail),
      lastKey: page.LastEvaluatedKey,
    };
  }
}
