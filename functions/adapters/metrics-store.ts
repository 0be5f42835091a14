/**
 * Pre-aggregated metrics (see domain/throughput.ts). Items: pk `<granularity>#<queue>`, sk
 * `<bucketStart>#<type>#<shard>`; a random shard (of 4) spreads a busy queue's writes over
 * several items (one item takes ~1,000 writes/s). Robot orders: pk `<granularity>#orders`, sk
 * `<bucketStart>#<robotType>#<shard>`.
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  bucketAdditions,
  bucketStart,
  increments,
  type MetricDelta,
  type OrderHour,
  type StoredBucket,
  type StoredGranularity,
  storedGranularities,
} from '#domain/throughput';
import { dynamo } from './aws-clients.ts';

const shards = 4;

/** Adds counters to an item (created when missing) and sets its expiry: one write, no read. */
export async function addCounters(
  tableName: string,
  key: { pk: string; sk: string },
  counters: Record<string, number>,
  expiresAt: number,
): Promise<void> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':expires': expiresAt };
  const adds = Object.entries(counters).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    return `#a${i} :a${i}`;
  });
  if (adds.length === 0) return;
  await dynamo().send(
    new UpdateCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: `SET expiresAt = :expires ADD ${adds.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

export class MetricsStore {
  constructor(
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private async add(
    pk: string,
    sk: string,
    counters: Record<string, number>,
    bucket: string,
    granularity: StoredGranularity,
  ) {
    // Minute buckets are kept for the retention; hour buckets (which answer days, weeks and
    // months too) thirty times as long.
    const keepDays = this.retentionDays * { minute: 1, hour: 30 }[granularity];
    await addCounters(
      this.tableName,
      { pk, sk },
      counters,
      Math.floor(Date.parse(bucket) / 1000) + keepDays * 86_400,
    );
  }

  /** Adds one event (or a group of like events) to its minute and hour buckets. */
  async record(delta: MetricDelta): Promise<void> {
    const counters = increments(delta);
    const shard = Math.floor(Math.random() * shards);
    await Promise.all(
      storedGranularities.map((g) => {
        const bucket = bucketStart(delta.at, g);
        return this.add(`${g}#${delta.queue}`, `${bucket}#${delta.type}#${shard}`, counters, bucket, g);
      }),
    );
  }

  /**
   * Adds many events at once: like events of a queue, type and bucket are summed first, so a
   * stream batch of hundreds of job changes costs one write per bucket it touches.
   */
  async recordAll(deltas: readonly MetricDelta[]): Promise<void> {
    await Promise.all(
      bucketAdditions(deltas).map((m) =>
        this.addToBucket(
          m.granularity,
          m.queue,
          m.type,
          m.bucket,
          m.counters,
          Math.floor(Math.random() * shards),
        ),
      ),
    );
  }

  /** Adds pre-merged counters straight to a bucket (bulk loading, e.g. the bench). */
  async addToBucket(
    granularity: StoredGranularity,
    queue: string,
    type: string,
    bucket: string,
    counters: Record<string, number>,
    shard = 0,
  ) {
    await this.add(`${granularity}#${queue}`, `${bucket}#${type}#${shard}`, counters, bucket, granularity);
  }

  async buckets(
    granularity: StoredGranularity,
    queue: string,
    from: Date,
    to: Date,
    type?: string,
  ): Promise<StoredBucket[]> {
    const found: StoredBucket[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': `${granularity}#${queue}`,
            ':from': bucketStart(from, granularity),
            ':to': `${new Date(to.getTime() - 1).toISOString()}~`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const [bucket = '', itemType = ''] = String(item.sk).split('#');
        if (type && itemType !== type) continue;
        const { pk: _pk, sk: _sk, expiresAt: _e, ...counters } = item;
        found.push({ bucket, queue, type: itemType, counters: counters as Record<string, number> });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found;
  }
}

/** Robot orders completed, by hour and robot type (assembly time = completion − order time). */
export class OrderMetrics {
  constructor(private readonly metrics: MetricsStore) {}

  record(robotType: string, at: Date, assemblyMs: number): Promise<void> {
    return this.metrics.addToBucket(
      'hour',
      'orders',
      robotType,
      bucketStart(at, 'hour'),
      { completed: 1, assemblyMsSum: assemblyMs },
      Math.floor(Math.random() * 4),
    );
  }

  async buckets(from: Date, to: Date): Promise<OrderHour[]> {
    const stored = await this.metrics.buckets('hour', 'orders', from, to);
    return stored.map((b) => ({
      bucket: b.bucket,
      robotType: b.type,
      completed: b.counters.completed ?? 0,
      assemblyMsSum: b.counters.assemblyMsSum ?? 0,
    }));
  }
}
