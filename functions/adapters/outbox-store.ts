import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AlertMail } from '#domain/alerts';
import { dynamo } from './aws-clients.ts';

/** A mail delivered by a send_email job. */
export interface JobMail {
  readonly jobId: string;
  readonly to: string;
  readonly from?: string;
  readonly cc: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly sentAt: string;
}

/** A send_email job's mail, or an alert's notice (an alert rule's email action). */
export type OutboxMail = JobMail | AlertMail;

/**
 * The e-mail outbox: one row per mail, partitioned by day, sorted by time. The key is the job id
 * (an alert's notice: alert, transition and recipient), so a retried delivery overwrites its own
 * row instead of adding a second mail.
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
          mailId: 'jobId' in mail ? mail.jobId : mail.mailId,
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
      // An alert's mail keeps its id: the alert's notice names it.
      mails: (page.Items ?? []).map(
        ({ day: _d, mailId, expiresAt: _e, ...mail }) =>
          ('alertId' in mail ? { mailId, ...mail } : mail) as OutboxMail,
      ),
      lastKey: page.LastEvaluatedKey,
    };
  }
}
