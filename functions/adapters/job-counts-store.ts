/**
 * The live job counts (domain/job-counts.ts) in the metrics table, written only by the analytics
 * recorder:
 * - pk `counts#jobs`, sk `states`: one number per `<queue>|<band>|<status>[|blocked]`, and
 *   `since`, when the counts began (epoch ms). Bounded by queues × bands × states.
 * - pk `counts#due`, sk `<hour ISO>`: the due minutes of that hour, one number per
 *   `<queue>|<band>|<status>|<minute>`; read only from the current hour on, expired a day after.
 * - pk `counts#batch`, sk `<batchId>`: a batch's jobs per state but pending
 *   (domain/batch-progress.ts), expiring with the batch's row.
 * Every write is an ADD, so the recorders of several stream shards may write at once.
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BatchCountName, BatchCounts, StoredBatchCounts } from '#domain/batch-progress';
import type { CountChanges, CountingPorts, StoredCounts } from '#domain/job-counts';
import type { JobFacts } from '#domain/job-overview';
import { dynamo } from './aws-clients.ts';
import type { JobQueries } from './job-queries.ts';

const statesKey = { pk: 'counts#jobs', sk: 'states' };
const duePartition = 'counts#due';
const batchPartition = 'counts#batch';
/** Attributes per update: an update expression stops at 4 KB. */
const perUpdate = 100;
const keepDueSeconds = 86_400;

export class JobCountsStore {
  private since: number | undefined;

  /** `keepBatchDays`: how long a batch's counters stay, as long as the batch's row. */
  constructor(
    private readonly tableName: string,
    private readonly keepBatchDays = 31,
  ) {}

  /**
   * When the counts began: the first recorder to propose a time sets it, every other (another
   * shard's, a later container) reads it back. Asked once per container.
   */
  async countsSince(proposedMs: number): Promise<number> {
    if (this.since !== undefined) return this.since;
    const { Attributes } = await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: statesKey,
        UpdateExpression: 'SET since = if_not_exists(since, :proposed)',
        ExpressionAttributeValues: { ':proposed': proposedMs },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    this.since = Number(Attributes?.since ?? proposedMs);
    return this.since;
  }

  private async add(
    key: Record<string, string>,
    counts: Readonly<Record<string, number>>,
    set?: { readonly expression: string; readonly values: Readonly<Record<string, unknown>> },
  ) {
    const entries = Object.entries(counts);
    for (let i = 0; i < entries.length; i += perUpdate) {
      const chunk = entries.slice(i, i + perUpdate);
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `${set ? `SET ${set.expression} ` : ''}ADD ${chunk.map((_, j) => `#c${j} :c${j}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(chunk.map(([name], j) => [`#c${j}`, name])),
          ExpressionAttributeValues: {
            ...Object.fromEntries(chunk.map(([, n], j) => [`:c${j}`, n])),
            ...set?.values,
          },
        }),
      );
    }
  }

  /** Applies a batch's changes: the due hours first, the states last. */
  async apply(changes: CountChanges): Promise<void> {
    await Promise.all(
      Object.entries(changes.due).map(([hour, counts]) =>
        this.add({ pk: duePartition, sk: hour }, counts, {
          expression: 'expiresAt = :expires',
          values: { ':expires': Math.floor(Date.parse(hour) / 1000) + keepDueSeconds },
        }),
      ),
    );
    await this.add(statesKey, changes.states);
  }

  /** Applies a stream batch's changes to the batches' counters, one write per batch touched. */
  async applyToBatches(
    changes: Readonly<Record<string, Partial<Record<BatchCountName, number>>>>,
    now: Date,
  ): Promise<void> {
    const expiresAt = Math.floor(now.getTime() / 1000) + this.keepBatchDays * 86_400;
    await Promise.all(
      Object.entries(changes).map(([batchId, counts]) =>
        this.add({ pk: batchPartition, sk: batchId }, counts as Record<string, number>, {
          expression: 'expiresAt = if_not_exists(expiresAt, :expires), updatedAt = :updatedAt',
          values: { ':expires': expiresAt, ':updatedAt': now.getTime() },
        }),
      ),
    );
  }

  /** A batch's counters; none yet when no job of it has left pending (or it has no counters). */
  async batchCounts(batchId: string): Promise<StoredBatchCounts | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { pk: batchPartition, sk: batchId } }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _e, updatedAt, ...counts } = Item;
    return {
      counts: counts as Partial<BatchCounts>,
      ...(typeof updatedAt === 'number' ? { updatedAt } : {}),
    };
  }

  /** The counts at `now`: the states, and the due minutes from the current hour on. */
  async read(now: Date): Promise<StoredCounts> {
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000).toISOString();
    const [states, due] = await Promise.all([
      dynamo().send(new GetCommand({ TableName: this.tableName, Key: statesKey })),
      (async () => {
        const hours: Record<string, Record<string, number>> = {};
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await dynamo().send(
            new QueryCommand({
              TableName: this.tableName,
              KeyConditionExpression: 'pk = :pk AND sk >= :hour',
              ExpressionAttributeValues: { ':pk': duePartition, ':hour': hour },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const { pk: _pk, sk, expiresAt: _e, ...minutes } of page.Items ?? [])
            hours[String(sk)] = minutes as Record<string, number>;
          startKey = page.LastEvaluatedKey;
        } while (startKey);
        return hours;
      })(),
    ]);
    const { pk: _pk, sk: _sk, since, ...counts } = states.Item ?? {};
    return {
      ...(since === undefined ? {} : { since: Number(since) }),
      states: counts as Record<string, number>,
      due,
    };
  }
}

/** What the readers count from: the stored counts, and the listing index for older rows. */
export function jobCounting(queries: JobQueries, counts: JobCountsStore): CountingPorts {
  return {
    storedCounts: (now) => counts.read(now),
    rows: (queue, status, before) =>
      queries.inPartition(queue, status, countedRowAttributes, before) as AsyncIterable<
        JobFacts & { queue: string }
      >,
  };
}
const countedRowAttributes = ['status', 'priority', 'runAt', 'waitingOn', 'createdAt'] as const;
