/**
 * The realtime table (pk/sk): tickets (`ticket`, sk the ticket's hash) until they are used or
 * expire, and the open WebSocket connections (`conn`, sk the connection id) with their filters.
 * Every row expires by TTL; a ticket's own expiry is checked when it is used.
 */
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  connectionTtlMs,
  type Subscriber,
  type SubscriptionFilters,
  type TicketHolder,
  ticketHash,
} from '#domain/realtime';
import { dynamo, isConditionFailure } from './aws-clients.ts';

const seconds = (ms: number) => Math.floor(ms / 1000);

export class RealtimeStore {
  constructor(private readonly tableName: string) {}

  async putTicket(hash: string, holder: TicketHolder, expiresAt: string): Promise<void> {
    const expiresMs = Date.parse(expiresAt);
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: 'ticket',
          sk: hash,
          ...holder,
          expiresAtMs: expiresMs,
          expiresAt: seconds(expiresMs) + 60,
        },
      }),
    );
  }

  /** Uses a ticket up: its holder, or undefined when it is unknown, used or expired. */
  async useTicket(ticket: string, now: Date): Promise<TicketHolder | undefined> {
    try {
      const { Attributes } = await dynamo().send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: 'ticket', sk: ticketHash(ticket) },
          ConditionExpression: 'attribute_exists(pk) AND expiresAtMs > :now',
          ExpressionAttributeValues: { ':now': now.getTime() },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes ? { keyId: String(Attributes.keyId), role: Attributes.role } : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async putConnection(connectionId: string, holder: TicketHolder, now: Date): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: 'conn',
          sk: connectionId,
          ...holder,
          connectedAt: now.toISOString(),
          expiresAt: seconds(now.getTime() + connectionTtlMs),
        },
      }),
    );
  }

  /** Sets a connection's filters; false when the connection is not known (gone). */
  async subscribe(connectionId: string, filters: SubscriptionFilters): Promise<boolean> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'conn', sk: connectionId },
          UpdateExpression: 'SET filters = :filters',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':filters': filters },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async removeConnection(connectionId: string): Promise<void> {
    await dynamo().send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: 'conn', sk: connectionId } }),
    );
  }

  /** Every open connection that subscribed. */
  async subscribers(): Promise<Subscriber[]> {
    const found: Subscriber[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :conn',
          FilterExpression: 'attribute_exists(filters)',
          ExpressionAttributeValues: { ':conn': 'conn' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? [])
        found.push({ connectionId: String(item.sk), filters: item.filters as SubscriptionFilters });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }
}
