/**
 * Recent events for GET /events (domain/factory-events.ts), in the events table: one item per
 * publication — the events of one stream batch, as one JSON attribute — in a partition per minute
 * of publication (`minute`, sort `publication`). A write unit per KB of events, not per event;
 * the bus's archive keeps the audit trail beyond the retention here.
 */
import { randomBytes } from 'node:crypto';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  eventId,
  type FactoryEvent,
  type FactoryEventDraft,
  minuteOf,
  type Publication,
  publicationId,
} from '#domain/factory-events';
import { dynamo } from './aws-clients.ts';

/** An item stays well under DynamoDB's 400 KB. */
const maxItemBytes = 300_000;

export class EventStore {
  constructor(
    private readonly tableName: string,
    private readonly retentionHours: number,
  ) {}

  get retentionMs(): number {
    return this.retentionHours * 3_600_000;
  }

  /** Gives the drafts their ids and stores them; returns them as published. */
  async publish(drafts: readonly FactoryEventDraft[], now: Date): Promise<FactoryEvent[]> {
    const published: FactoryEvent[] = [];
    let chunk: FactoryEventDraft[] = [];
    let bytes = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      // Later chunks of one batch get later ids: one more millisecond each keeps them in order.
      const at = now.getTime() + published.length;
      const publication = publicationId(at, randomBytes(4).toString('hex'));
      const events = chunk.map((draft, i) => ({ id: eventId(publication, i), ...draft }));
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            minute: minuteOf(at),
            publication,
            events: JSON.stringify(events),
            expiresAt: Math.floor(at / 1000) + this.retentionHours * 3600,
          },
        }),
      );
      published.push(...events);
      chunk = [];
      bytes = 0;
    };
    for (const draft of drafts) {
      const size = Buffer.byteLength(JSON.stringify(draft));
      if (bytes + size > maxItemBytes) await flush();
      chunk.push(draft);
      bytes += size;
    }
    await flush();
    return published;
  }

  async *publications(minute: string, afterPublication?: string): AsyncGenerator<Publication> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          // MINUTE is one of DynamoDB's reserved words.
          KeyConditionExpression: afterPublication
            ? '#minute = :minute AND publication >= :after'
            : '#minute = :minute',
          ExpressionAttributeNames: { '#minute': 'minute' },
          ExpressionAttributeValues: {
            ':minute': minute,
            ...(afterPublication ? { ':after': afterPublication } : {}),
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? [])
        yield { publication: String(item.publication), events: JSON.parse(String(item.events)) };
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
