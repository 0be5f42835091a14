/**
 * Read models over the jobs table, all by Query on indexes (never Scan):
 * - byQueueStatus (queueStatus = "<queue>#<STATUS>", createdAt): listings, the DLQ, counts, and
 *   the sweeper's expired leases (the RUNNING partitions, whose rows carry their lease);
 * - ready (readyKey = "<queue>#<band>", by priority then due time): a job queue's QUEUED jobs,
 *   which have no listing entry (docs/cost-model.md, item 8) — their rows are fetched for a page;
 * - dispatchDue: the sweeper's follow-ups (sparse: only jobs with a marker);
 * A listing over several queues or states walks their partitions one after another; the cursor
 * remembers the partition and DynamoDB's LastEvaluatedKey within it.
 */
import { QueryCommand, type QueryCommandInput, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import { allQueueNames, isProductionLine, type PriorityBand, priorityBands } from '#domain/job-queues';
import type { JobRecord, JobStatus } from '#domain/jobs';
import type { FinishedJobFacts } from '#job-types/job-type';
import { dynamo, itemsByKey } from './aws-clients.ts';
import {
  dispatchIndex,
  dispatchShards,
  jobsTableKey,
  listingIndex,
  queuedThroughReady,
  queueStatusKey,
  readyIndex,
  readyKeyOf,
} from './jobs-table.ts';
import { listPartitions, type RowsPartition } from './partition-listing.ts';

export interface ListingFilter {
  readonly queues: readonly string[];
  readonly statuses: readonly (JobStatus | 'DISCARDED')[];
  readonly type?: string;
  readonly errorContains?: string;
  readonly limit: number;
  readonly cursor?: string;
}

export class JobQueries {
  constructor(private readonly tableName: string) {}

  /**
   * One page of jobs, newest first within each queue and state — a job queue's QUEUED jobs in the
   * order they will run (band by band, by priority, then due time).
   */
  async list(filter: ListingFilter): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    const filters: string[] = [];
    const values: Record<string, unknown> = {};
    if (filter.type) {
      filters.push('#type = :type');
      values[':type'] = filter.type;
    }
    if (filter.errorContains) {
      filters.push('contains(#lastError, :error)');
      values[':error'] = filter.errorContains;
    }
    const matches = (row: JobRecord) =>
      row.status === 'QUEUED' &&
      (!filter.type || row.type === filter.type) &&
      (!filter.errorContains || String(row.lastError ?? '').includes(filter.errorContains));
    const page = await listPartitions<JobRecord & Record<string, unknown>>({
      tableName: this.tableName,
      indexName: listingIndex,
      partitionAttribute: 'queueStatus',
      partitions: filter.queues.flatMap((q) =>
        filter.statuses.flatMap<string | RowsPartition<JobRecord & Record<string, unknown>>>((s) =>
          queuedThroughReady(q, s)
            ? this.readyPartitions(q, matches, filters.length > 0)
            : [queueStatusKey(q, s)],
        ),
      ),
      keyAttributes: ['jobId', 'queueStatus', 'createdAt'],
      filters,
      values,
      limit: filter.limit,
      cursor: filter.cursor,
    });
    return { jobs: page.items, nextCursor: page.nextCursor };
  }

  /** A job queue's `ready` partitions, band by band, as listing partitions of the rows `matches` keeps. */
  private readyPartitions(
    queue: string,
    matches: (row: JobRecord) => boolean,
    filtered: boolean,
  ): RowsPartition<JobRecord & Record<string, unknown>>[] {
    return priorityBands.map((band) => ({
      indexName: readyIndex,
      partitionAttribute: 'readyKey',
      key: readyKeyOf(queue, band.name),
      keyAttributes: ['jobId', 'readyKey', 'readyRank'],
      forward: true,
      // Most entries of a band are QUEUED jobs (the rest are delayed or retrying): a page's worth
      // unless a filter may drop many.
      pageSize: filtered ? 100 : undefined,
      rowsOf: async (items) => {
        const rows = await this.rowsOf(items.map((item) => item.jobId as string));
        return items.flatMap((item) => {
          const row = rows.get(item.jobId as string);
          return row && matches(row) ? [{ item, row: row as JobRecord & Record<string, unknown> }] : [];
        });
      },
    }));
  }

  /** Rows by id (eventually consistent, as the index they were found in). */
  private async rowsOf(jobIds: readonly string[]): Promise<Map<string, JobRecord>> {
    const rows = await itemsByKey(this.tableName, jobsTableKey, jobIds, { consistent: false });
    return new Map(rows.map((row) => [row.jobId as string, row as unknown as JobRecord]));
  }

  /** Every page of a query, following LastEvaluatedKey. */
  private async *pages(input: QueryCommandInput): AsyncGenerator<QueryCommandOutput> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await dynamo().send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey: startKey }),
      );
      yield page;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private partitionQuery(queue: string, status: JobStatus): QueryCommandInput {
    return {
      TableName: this.tableName,
      IndexName: listingIndex,
      KeyConditionExpression: 'queueStatus = :partition',
      ExpressionAttributeValues: { ':partition': queueStatusKey(queue, status) },
    };
  }

  /**
   * Every job of a queue and state, projected to the attributes an overview needs; only those
   * created before `createdBefore` (ISO) when it is given (the listing index sorts by createdAt).
   */
  async *inPartition(
    queue: string,
    status: JobStatus,
    projection: readonly string[],
    createdBefore?: string,
  ): AsyncGenerator<Partial<JobRecord>> {
    // A waiting job has no listing entry (jobs-table.ts): all of them are read on `ready`. Rows
    // created before a time (the counts' `since`: before the jobs table had its stream) predate
    // that and have one, so those are read from the listing index, by its sort key.
    if (queuedThroughReady(queue, status) && createdBefore === undefined) {
      for (const band of priorityBands) {
        for await (const page of this.pages({
          TableName: this.tableName,
          IndexName: readyIndex,
          KeyConditionExpression: 'readyKey = :key',
          ExpressionAttributeValues: { ':key': readyKeyOf(queue, band.name) },
        })) {
          const rows = await this.rowsOf((page.Items ?? []).map((item) => item.jobId as string));
          for (const row of rows.values()) {
            if (row.status !== status) continue;
            yield Object.fromEntries(
              projection.map((p) => [p, (row as unknown as Record<string, unknown>)[p]]),
            );
          }
        }
      }
      return;
    }
    const names = Object.fromEntries(projection.map((p) => [`#${p}`, p]));
    const query = this.partitionQuery(queue, status);
    for await (const page of this.pages({
      ...query,
      ...(createdBefore
        ? {
            KeyConditionExpression: `${query.KeyConditionExpression} AND #createdAt < :before`,
            ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':before': createdBefore },
          }
        : {}),
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: { ...names, '#createdAt': 'createdAt' },
    })) {
      for (const item of page.Items ?? []) yield item as Partial<JobRecord>;
    }
  }

  /**
   * When the oldest waiting job of a queue became runnable (its runAt), if any waits: a job
   * queue's from `ready` (the earliest due over its bands), a production line's from its oldest
   * QUEUED step.
   */
  async oldestWaiting(queue: string, now = new Date()): Promise<string | undefined> {
    if (!isProductionLine(queue)) {
      const firsts = await Promise.all(priorityBands.map((band) => this.oldestDue(queue, band.name, now)));
      return firsts.filter((at): at is string => at !== undefined).sort()[0];
    }
    const { Items } = await dynamo().send(
      new QueryCommand({ ...this.partitionQuery(queue, 'QUEUED'), ScanIndexForward: true, Limit: 1 }),
    );
    const item = Items?.[0];
    return item ? ((item.runAt as string | undefined) ?? (item.createdAt as string)) : undefined;
  }

  /**
   * When the longest-waiting runnable job of a queue's band became due (ISO), if one is due: the
   * ready index sorts each band by priority, then due time, so one read per priority finds it.
   * Robot steps are not on that index: a line's oldest QUEUED steps are read instead (a few
   * pages at most, oldest first).
   */
  async oldestDue(queue: string, band: PriorityBand, now: Date): Promise<string | undefined> {
    const range = priorityBands.find((b) => b.name === band) ?? priorityBands[1];
    if (isProductionLine(queue)) {
      let startKey: Record<string, unknown> | undefined;
      for (let page = 0; page < 4; page++) {
        const { Items = [], LastEvaluatedKey } = await dynamo().send(
          new QueryCommand({
            ...this.partitionQuery(queue, 'QUEUED'),
            FilterExpression: 'priority BETWEEN :min AND :max',
            ExpressionAttributeValues: {
              ':partition': queueStatusKey(queue, 'QUEUED'),
              ':min': range.min,
              ':max': range.max,
            },
            Limit: 100,
            ExclusiveStartKey: startKey,
          }),
        );
        const first = Items[0];
        if (first) return (first.runAt as string | undefined) ?? (first.createdAt as string);
        if (!LastEvaluatedKey) return undefined;
        startKey = LastEvaluatedKey;
      }
      return undefined;
    }
    // The first entry of each priority before now (a due time equal to now sorts after it).
    // Its rank's time: when the job became runnable (a dependent released now has not waited).
    const firsts = (await this.duePerPriority(queue, band, now.toISOString(), 1)).map(
      (items) =>
        ((items[0]?.readyRank as string | undefined)?.split('#')[1] ?? items[0]?.runAt) as string | undefined,
    );
    return firsts.filter((at): at is string => at !== undefined).sort()[0];
  }

  /**
   * Jobs of a band due at or before `dueBy`, from the ready index: one read per priority (the
   * index sorts a band by priority, then due time), at most `limit` each, the longest due first.
   * Attempts running unlisted keep their entry (job-engine-store.ts, claim): callers read the rows.
   */
  async overdueReady(queue: string, band: PriorityBand, dueBy: Date, limit: number): Promise<string[]> {
    // Every rank of a job due by then sorts below this bound (`#` < any id character).
    const entries = await this.duePerPriority(queue, band, `${dueBy.toISOString()}#~`, limit);
    return entries.flat().map((item) => item.jobId as string);
  }

  /**
   * The ready-index entries of each priority of a band (read in parallel) whose rank sorts at
   * most `<priority>#<upTo>`: the longest due first, at most `limit` a priority.
   */
  private duePerPriority(queue: string, band: PriorityBand, upTo: string, limit: number) {
    const range = priorityBands.find((b) => b.name === band) ?? priorityBands[1];
    return Promise.all(
      Array.from({ length: range.max - range.min + 1 }, async (_, i) => {
        const rank = String(range.min + i).padStart(2, '0');
        const { Items = [] } = await dynamo().send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: readyIndex,
            KeyConditionExpression: 'readyKey = :key AND readyRank BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':key': readyKeyOf(queue, band),
              ':from': `${rank}#`,
              ':to': `${rank}#${upTo}`,
            },
            Limit: limit,
          }),
        );
        return Items;
      }),
    );
  }

  /** Jobs whose marker is due: follow-ups not confirmed done. */
  async *dueMarkers(now: string, limit: number): AsyncGenerator<JobRecord> {
    yield* this.sparse(dispatchIndex, 'dispatchShard', dispatchShards, 'dispatchAt', now, limit);
  }

  /**
   * Running jobs and steps whose lease ran out, from each queue's and line's RUNNING partition of
   * the listing index: every running row is there with its `leaseExpiresAt` (projection ALL), and
   * the queues are the stack's own. It reads the running rows only, which concurrency bounds; a
   * sparse lease index cost 2 write units per job and 2 per heartbeat that moved a lease.
   */
  async *expiredLeases(nowMs: number, limit: number, queues = allQueueNames): AsyncGenerator<JobRecord> {
    let yielded = 0;
    for (const queue of queues) {
      for await (const page of this.pages({
        ...this.partitionQuery(queue, 'RUNNING'),
        FilterExpression: 'leaseExpiresAt <= :now',
        ExpressionAttributeValues: { ':partition': queueStatusKey(queue, 'RUNNING'), ':now': nowMs },
      })) {
        for (const item of page.Items ?? []) {
          yield item as JobRecord;
          if (++yielded >= limit) return;
        }
      }
    }
  }

  private async *sparse(
    index: string,
    shardKey: string,
    shards: readonly string[],
    sortKey: string,
    upTo: unknown,
    limit: number,
  ) {
    let yielded = 0;
    for (const shard of shards) {
      for await (const page of this.pages({
        TableName: this.tableName,
        IndexName: index,
        KeyConditionExpression: '#shard = :shard AND #sort <= :upTo',
        ExpressionAttributeNames: { '#shard': shardKey, '#sort': sortKey },
        ExpressionAttributeValues: { ':shard': shard, ':upTo': upTo },
        Limit: 100,
      })) {
        for (const item of page.Items ?? []) {
          yield item as JobRecord;
          if (++yielded >= limit) return;
        }
      }
    }
  }

  /** Jobs of the given queues and states created in [from, to), from the listing index. */
  private async *createdBetween(
    queues: readonly string[],
    statuses: readonly JobStatus[],
    from: string,
    to: string,
  ): AsyncGenerator<Record<string, unknown> & { queue: string; status: JobStatus }> {
    for (const queue of queues) {
      for (const status of statuses) {
        const query = this.partitionQuery(queue, status);
        for await (const page of this.pages({
          ...query,
          KeyConditionExpression: 'queueStatus = :partition AND createdAt BETWEEN :from AND :to',
          ExpressionAttributeValues: { ...query.ExpressionAttributeValues, ':from': from, ':to': to },
        })) {
          for (const item of page.Items ?? []) {
            // BETWEEN includes `to`; the range is half-open.
            if ((item.createdAt as string) < to) yield { ...item, queue, status };
          }
        }
      }
    }
  }

  /** Jobs created in [from, to) that started, with their start and end (Gantt view). */
  async *timeline(queues: readonly string[], from: string, to: string) {
    const states = ['RUNNING', 'COMPLETED', 'FAILED', 'DEAD', 'CANCELLED'] as const;
    for await (const item of this.createdBetween(queues, states, from, to)) {
      if (!item.startedAt) continue;
      yield {
        jobId: item.jobId as string,
        queue: item.queue,
        type: item.type as string,
        kind: item.kind as string,
        status: item.status,
        start: item.startedAt as string,
        end: (item.completedAt ?? item.deadAt ?? item.cancelledAt ?? item.failedAt ?? null) as string | null,
        attempts: (item.attempts ?? 0) as number,
      };
    }
  }

  /**
   * The newest standalone jobs of a queue that ended in `status`, created in [from, to), at most
   * `limit`: the failure model's training sample of that stratum.
   */
  async newestFinished(
    queue: string,
    status: 'COMPLETED' | 'DEAD',
    from: string,
    to: string,
    limit: number,
  ): Promise<JobRecord[]> {
    const query = this.partitionQuery(queue, status);
    const found: JobRecord[] = [];
    for await (const page of this.pages({
      ...query,
      KeyConditionExpression: 'queueStatus = :partition AND createdAt BETWEEN :from AND :to',
      FilterExpression: '#kind = :job',
      ExpressionAttributeNames: { '#kind': 'kind' },
      ExpressionAttributeValues: {
        ...query.ExpressionAttributeValues,
        ':from': from,
        ':to': to,
        ':job': 'job',
      },
      ScanIndexForward: false,
      Limit: Math.min(1000, limit),
    })) {
      for (const item of page.Items ?? []) if ((item.createdAt as string) < to) found.push(item as JobRecord);
      if (found.length >= limit) break;
    }
    return found.slice(0, limit);
  }

  /** Finished jobs created in [from, to), across the given queues (reports). */
  async *finishedBetween(
    queues: readonly string[],
    from: string,
    to: string,
  ): AsyncGenerator<FinishedJobFacts> {
    for await (const item of this.createdBetween(queues, ['COMPLETED', 'DEAD', 'CANCELLED'], from, to)) {
      yield {
        queue: item.queue,
        type: item.type as string,
        status: item.status,
        kind: item.kind as string,
        robotType: item.robotType as string | undefined,
        createdAt: item.createdAt as string,
        startedAt: item.startedAt as string | undefined,
        completedAt: item.completedAt as string | undefined,
        attempts: (item.attempts as number | undefined) ?? 0,
      };
    }
  }
}
