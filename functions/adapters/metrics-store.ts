/**
 * Pre-aggregated metrics (see domain/throughput.ts). Items: pk `<granularity>#<queue>`, sk
 * `<bucketStart>#<type>#<shard>`; a random shard (of 4) spreads a busy queue's writes over
 * several items (one item takes ~1,000 writes/s). Robot orders: pk `<granularity>#orders`, sk
 * `<bucketStart>#<robotType>#<shard>`.
 *
 * Error classes: a bucket item counts each class's failed attempts (`x_<id>`), keeps its text
 * once (`xl_<id>`) and the set of its class ids (`errorClasses`). The write that adds classes is
 * conditional on the set leaving room for them, so an item never holds more than
 * maxErrorClassesPerBucket classes whatever the errors say; past that, failures count as `x_other`.
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  type BucketAddition,
  bucketAdditions,
  bucketStart,
  errorCounterPrefix,
  errorLabelPrefix,
  increments,
  type MetricDelta,
  maxErrorClassesPerBucket,
  type OrderHour,
  otherErrors,
  type StoredBucket,
  type StoredGranularity,
  storedGranularities,
} from '#domain/throughput';
import { dynamo, isConditionFailure } from './aws-clients.ts';

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
    await addCounters(this.tableName, { pk, sk }, counters, this.expiryOf(bucket, granularity));
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
   * stream batch of hundreds of job changes costs one write per bucket it touches (more only
   * when an item's error classes are near their bound).
   */
  async recordAll(deltas: readonly MetricDelta[]): Promise<void> {
    await this.addAll(bucketAdditions(deltas));
  }

  /**
   * Writes additions already merged per bucket (`bucketAdditions`), error classes included:
   * what recordAll does after merging, for a bulk load that chooses its buckets
   * (`npm run seed-history`).
   */
  async addAll(additions: readonly BucketAddition[]): Promise<void> {
    await Promise.all(
      additions.map((m) => {
        const shard = Math.floor(Math.random() * shards);
        return Object.keys(m.errorClasses).length === 0
          ? this.addToBucket(m.granularity, m.queue, m.type, m.bucket, m.counters, shard)
          : this.addWithErrorClasses(m, shard);
      }),
    );
  }

  private expiryOf(bucket: string, granularity: StoredGranularity): number {
    // Minute buckets are kept for the retention; hour buckets (which answer days, weeks and
    // months too) thirty times as long.
    const keepDays = this.retentionDays * { minute: 1, hour: 30 }[granularity];
    return Math.floor(Date.parse(bucket) / 1000) + keepDays * 86_400;
  }

  /**
   * One write when the item has room for the addition's classes (the common case); otherwise
   * the plain counters, then each class on its own — counted if the item knows it or still has
   * room, else as `x_other`.
   */
  private async addWithErrorClasses(m: BucketAddition, shard: number): Promise<void> {
    const key = { pk: `${m.granularity}#${m.queue}`, sk: `${m.bucket}#${m.type}#${shard}` };
    const expiresAt = this.expiryOf(m.bucket, m.granularity);
    const ids = Object.keys(m.errorClasses);
    const update = (
      counters: Record<string, number>,
      classes: readonly string[],
      condition?: { expression: string; values: Record<string, unknown> },
    ) => {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':expires': expiresAt, ...condition?.values };
      const sets = ['expiresAt = :expires'];
      const adds = Object.entries(counters).map(([name, value], i) => {
        names[`#a${i}`] = name;
        values[`:a${i}`] = value;
        return `#a${i} :a${i}`;
      });
      classes.forEach((id, i) => {
        names[`#l${i}`] = `${errorLabelPrefix}${id}`;
        values[`:l${i}`] = m.errorClasses[id];
        sets.push(`#l${i} = if_not_exists(#l${i}, :l${i})`);
      });
      if (classes.length) {
        names['#classes'] = 'errorClasses';
        values[':classes'] = new Set(classes);
        adds.push('#classes :classes');
      }
      return dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(', ')}${adds.length ? ` ADD ${adds.join(', ')}` : ''}`,
          ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
          ...(condition ? { ConditionExpression: condition.expression } : {}),
        }),
      );
    };
    const room = (expression: string, values: Record<string, unknown>) => ({
      expression: `attribute_not_exists(errorClasses) OR ${expression}`,
      values,
    });
    try {
      await update(
        m.counters,
        ids,
        room('size(errorClasses) <= :room', { ':room': maxErrorClassesPerBucket - ids.length }),
      );
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const plain = Object.fromEntries(
      Object.entries(m.counters).filter(([name]) => !ids.some((id) => name === `${errorCounterPrefix}${id}`)),
    );
    await update(plain, []);
    let other = 0;
    for (const id of ids) {
      const count = m.counters[`${errorCounterPrefix}${id}`] ?? 0;
      try {
        await update(
          { [`${errorCounterPrefix}${id}`]: count },
          [id],
          room('size(errorClasses) < :max OR contains(errorClasses, :id)', {
            ':max': maxErrorClassesPerBucket,
            ':id': id,
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        other += count;
      }
    }
    if (other > 0) await update({ [otherErrors]: other }, []);
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
        const { pk: _pk, sk: _sk, expiresAt: _e, errorClasses: _c, ...attributes } = item;
        // Numbers are counters; the error classes' texts are kept beside them.
        const counters: Record<string, number> = {};
        const errorClasses: Record<string, string> = {};
        for (const [name, value] of Object.entries(attributes)) {
          if (typeof value === 'number') counters[name] = value;
          else if (name.startsWith(errorLabelPrefix) && typeof value === 'string')
            errorClasses[name.slice(errorLabelPrefix.length)] = value;
        }
        found.push({
          bucket,
          queue,
          type: itemType,
          counters,
          ...(Object.keys(errorClasses).length ? { errorClasses } : {}),
        });
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
