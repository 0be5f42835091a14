/**
 * Recent events for GET /events (domain/factory-events.ts), in the events table: one item per
 * publication — the events of one stream batch, as one gzipped JSON attribute — in a partition
 * per minute of publication (`minute`, sort `publication`). A write unit per KB of compressed
 * events, not per event: a stream batch's events repeat their names and values, and gzip takes
 * them to about a twelfth (~20 bytes an event instead of ~240). The bus's archive keeps the
 * audit trail beyond the retention here.
 */
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
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

  /**
   * Gives the drafts their ids (at once: the publisher pushes them while they are stored) and
   * returns them with the write that stores them, one item per ~300 KB of events.
   */
  prepare(
    drafts: readonly FactoryEventDraft[],
    now: Date,
  ): { events: FactoryEvent[]; store: () => Promise<void> } {
    const items: { minute: string; publication: string; events: FactoryEvent[]; at: number }[] = [];
    let chunk: FactoryEventDraft[] = [];
    let bytes = 0;
    const cut = () => {
      if (chunk.length === 0) return;
      // Later chunks of one batch get later ids: one more millisecond each keeps them in order.
      const at = now.getTime() + items.length;
      const publication = publicationId(at, randomBytes(4).toString('hex'));
      items.push({
        minute: minuteOf(at),
        publication,
        at,
        events: chunk.map((d, i) => ({ id: eventId(publication, i), ...d })),
      });
      chunk = [];
      bytes = 0;
    };
    for (const draft of drafts) {
      const size = Buffer.byteLength(JSON.stringify(draft));
      if (bytes + size > maxItemBytes) cut();
      chunk.push(draft);
      bytes += size;
    }
    cut();
    return {
      events: items.flatMap((item) => item.events),
      store: async () => {
        await Promise.all(
          items.map((item) =>
            dynamo().send(
              new PutCommand({
                TableName: this.tableName,
                Item: {
                  minute: item.minute,
                  publication: item.publication,
                  events: gzipSync(JSON.stringify(item.events)),
                  expiresAt: Math.floor(item.at / 1000) + this.retentionHours * 3600,
                },
              }),
            ),
          ),
        );
      },
    };
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
        yield { publication: String(item.publication), events: eventsOf(item.events) };
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}

/** A publication's events: gzipped JSON (binary), or plain JSON as items written before were. */
function eventsOf(stored: unknown): FactoryEvent[] {
  const json = stored instanceof Uint8Array ? gunzipSync(stored).toString('utf8') : String(stored);
  return JSON.parse(json) as FactoryEvent[];
}
