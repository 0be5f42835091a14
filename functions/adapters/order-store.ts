import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type OrderRecord, type OrderStatus, orderStatuses } from '#domain/orders';
import { envInt } from '#shared/env';
import { dynamo, isConditionFailure } from './aws-clients.ts';
import { listPartitions } from './partition-listing.ts';

/** Name of the sparse index over orders whose workflow has not been confirmed started. */
export const awaitingStartIndex = 'awaitingStart';

export class OrderStore {
  /** @param retentionDays how long an order stays after it was placed or last resumed (TTL) */
  constructor(
    private readonly tableName: string,
    private readonly retentionDays = envInt('ORDER_RETENTION_DAYS', 90),
  ) {}

  private expiry(at: string): number {
    return Math.floor(Date.parse(at) / 1000) + this.retentionDays * 86_400;
  }

  async create(order: OrderRecord): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...order,
          awaitingStartShard: order.awaitingStart ? 'orders' : undefined,
          expiresAt: this.expiry(order.createdAt),
        },
        ConditionExpression: 'attribute_not_exists(orderId)',
      }),
    );
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const { Item } = await dynamo().send(new GetCommand({ TableName: this.tableName, Key: { orderId } }));
    return Item as OrderRecord | undefined;
  }

  /** Drops the order out of the sweeper's index once its workflow exists. */
  async markWorkflowStarted(orderId: string): Promise<void> {
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { orderId },
        UpdateExpression: 'REMOVE awaitingStart, awaitingStartShard',
        ConditionExpression: 'attribute_exists(orderId)',
      }),
    );
  }

  /** First step to start moves the order on; later ones find it moved already. */
  async markInProgress(orderId: string, at: string): Promise<void> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId },
          UpdateExpression: 'SET #status = :inProgress, startedAt = :at',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':pending': 'PENDING', ':at': at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * A failed order goes back to work after a step retry: a new execution (named for the resume)
   * will run it; until that start is confirmed the intake sweeper sees it as awaiting start.
   */
  async resume(order: OrderRecord, at: string): Promise<OrderRecord | undefined> {
    const resumes = (order.resumes ?? 0) + 1;
    return this.transition(order.orderId, {
      UpdateExpression:
        'SET #status = :inProgress, resumes = :resumes, resumedAt = :at, executionName = :name, awaitingStart = :at, awaitingStartShard = :shard, expiresAt = :expires REMOVE failedAt, #error',
      ConditionExpression: '#status = :failed',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
      ExpressionAttributeValues: {
        ':inProgress': 'IN_PROGRESS',
        ':failed': 'FAILED',
        ':resumes': resumes,
        ':at': at,
        ':name': `${order.orderId}-resume-${resumes}`,
        ':shard': 'orders',
        ':expires': this.expiry(at),
      },
    });
  }

  /**
   * DELETE /orders/{id}: an order that is still being built stops being built. The sweeper
   * loses interest in it (no awaiting-start key).
   */
  async cancel(order: OrderRecord, at: string, by: string, reason: string): Promise<OrderRecord | undefined> {
    return this.transition(order.orderId, {
      UpdateExpression:
        'SET #status = :cancelled, cancelledAt = :at, cancelledBy = :by, cancelReason = :reason REMOVE awaitingStart, awaitingStartShard',
      ConditionExpression: '#status IN (:pending, :inProgress)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':cancelled': 'CANCELLED',
        ':pending': 'PENDING',
        ':inProgress': 'IN_PROGRESS',
        ':at': at,
        ':by': by,
        ':reason': reason,
      },
    });
  }

  /** A conditional change of state: the order as it now is, or undefined when it was not in the expected state. */
  private async transition(
    orderId: string,
    update: Pick<
      UpdateCommandInput,
      'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<OrderRecord | undefined> {
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { orderId },
          ...update,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes as OrderRecord;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /**
   * GET /orders: a customer's orders (byCustomer), or orders by state (byStatus), newest first
   * within each state; other criteria filter.
   */
  async list(filter: {
    readonly status?: OrderStatus;
    readonly robotType?: string;
    readonly customerId?: string;
    readonly limit: number;
    readonly cursor?: string;
  }): Promise<{ orders: OrderRecord[]; nextCursor: string | null }> {
    const filters: string[] = [];
    const values: Record<string, unknown> = {};
    if (filter.robotType) {
      filters.push('#robotType = :robotType');
      values[':robotType'] = filter.robotType;
    }
    const byCustomer = filter.customerId !== undefined;
    if (byCustomer && filter.status) {
      filters.push('#status = :status');
      values[':status'] = filter.status;
    }
    const page = await listPartitions<OrderRecord & Record<string, unknown>>({
      tableName: this.tableName,
      indexName: byCustomer ? 'byCustomer' : 'byStatus',
      partitionAttribute: byCustomer ? 'customerId' : 'status',
      partitions: byCustomer
        ? [filter.customerId as string]
        : filter.status
          ? [filter.status]
          : orderStatuses,
      keyAttributes: ['orderId', 'createdAt', byCustomer ? 'customerId' : 'status'],
      filters,
      values,
      limit: filter.limit,
      cursor: filter.cursor,
    });
    return { orders: page.items, nextCursor: page.nextCursor };
  }

  /** Orders accepted before `before` whose workflow start was never confirmed. */
  async listAwaitingStart(before: string, limit: number): Promise<OrderRecord[]> {
    const { Items } = await dynamo().send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: awaitingStartIndex,
        KeyConditionExpression: 'awaitingStartShard = :shard AND awaitingStart < :before',
        ExpressionAttributeValues: { ':shard': 'orders', ':before': before },
        Limit: limit,
      }),
    );
    return (Items ?? []) as OrderRecord[];
  }
}
