/**
 * The operations table (one table, several item kinds, pk/sk): scaling events
 * (`scaling#<queue>`), maintenance windows (`maintenance`), cron schedules (`schedule`),
 * per-queue rate limits (`ratelimit`), SLAs (`sla`) and operator pauses (`pause`). All small,
 * operator-driven data.
 */
import { randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CronSchedule } from '#domain/cron-schedules';
import type { MaintenanceWindow } from '#domain/maintenance';
import type { QueuePause } from '#domain/queue-pause';
import type { RateLimit } from '#domain/rate-limits';
import type { QueueSla } from '#domain/sla';
import type { ScalingMode } from '#domain/worker-scaling';
import { envInt } from '#shared/env';
import { dynamo, isConditionFailure } from './aws-clients.ts';

export interface ScalingEvent {
  readonly queue: string;
  readonly at: string;
  readonly from: number;
  readonly to: number;
  readonly by: string;
  readonly reason: string;
  readonly source: 'manual' | 'autoscaler';
  readonly bands?: Record<string, number>;
  /** Who decides from now on (manual pin, or auto within bounds), when the event changed it. */
  readonly mode?: 'manual' | 'auto';
  readonly bounds?: { min: number; max: number };
  /** Autoscaler, a step out: jobs the queue completed per second when it decided (the step is judged against it). */
  readonly rate?: number;
  /** Autoscaler: a step out undone caps the queue at `ceiling` until `holdUntil`. */
  readonly ceiling?: number;
  readonly holdUntil?: string;
}

/** A queue's backlog at a minute (the autoscaler's reading). */
export interface BacklogSnapshot {
  readonly queue: string;
  readonly at: string;
  /** Messages waiting in the queue's bands (SQS), in flight, and delayed. */
  readonly depth: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly oldestWaitingMs: number | null;
  readonly concurrency: number;
  readonly paused: boolean;
}

export type { CronSchedule } from '#domain/cron-schedules';

/**
 * Up to `limit` items of one kind (one pk) of the operations table, in sort-key order: every
 * owner of a kind of row there (this store, the alert store) lists its rows with it.
 */
export async function queryPartition(
  tableName: string,
  pk: string,
  limit: number,
  newestFirst: boolean,
  /** Only items whose sort key is at least this. */
  skFrom?: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: skFrom === undefined ? 'pk = :pk' : 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: { ':pk': pk, ...(skFrom === undefined ? {} : { ':from': skFrom }) },
        ScanIndexForward: !newestFirst,
        Limit: limit - items.length,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey && items.length < limit);
  return items;
}

export class OperationsStore {
  /** @param retentionDays how long scaling events and finished maintenance windows stay (TTL) */
  constructor(
    private readonly tableName: string,
    private readonly retentionDays = envInt('OPERATIONS_RETENTION_DAYS', 90),
  ) {}

  private expiry(at: string): number {
    return Math.floor(Date.parse(at) / 1000) + this.retentionDays * 86_400;
  }

  private async list<T>(pk: string, limit = 1000, newestFirst = false): Promise<T[]> {
    const items = await queryPartition(this.tableName, pk, limit, newestFirst);
    return items.map(({ pk: _pk, sk: _sk, ...item }) => item as T);
  }

  // Scaling events
  async recordScaling(event: ScalingEvent): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: `scaling#${event.queue}`,
          sk: `${event.at}#${randomBytes(3).toString('hex')}`,
          ...event,
          expiresAt: this.expiry(event.at),
        },
      }),
    );
  }

  /**
   * The queue's backlog as the autoscaler saw it this minute (one row per queue, overwritten):
   * its change is the `queue.backlog` event (domain/factory-events.ts).
   */
  async recordBacklog(snapshot: BacklogSnapshot): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: 'backlog',
          sk: snapshot.queue,
          ...snapshot,
          expiresAt: Math.floor(Date.parse(snapshot.at) / 1000) + 86_400,
        },
      }),
    );
  }

  /** The queue's last backlog snapshot (the autoscaler's reading a minute ago, until it writes this one). */
  async backlog(queue: string): Promise<BacklogSnapshot | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'backlog', sk: queue } }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _e, ...snapshot } = Item;
    return snapshot as BacklogSnapshot;
  }

  scalingEvents(queue: string, limit: number): Promise<ScalingEvent[]> {
    return this.list<ScalingEvent>(`scaling#${queue}`, limit, true);
  }

  // Scaling modes: who decides a queue's concurrency (domain/worker-scaling.ts)
  async setScalingMode(mode: ScalingMode): Promise<void> {
    await dynamo().send(
      new PutCommand({ TableName: this.tableName, Item: { pk: 'scaling-mode', sk: mode.queue, ...mode } }),
    );
  }

  async scalingModes(): Promise<Map<string, ScalingMode>> {
    const modes = await this.list<ScalingMode>('scaling-mode');
    return new Map(modes.map((m) => [m.queue, m]));
  }

  // Maintenance windows
  async putWindow(window: MaintenanceWindow): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'maintenance', sk: window.windowId, ...window },
      }),
    );
  }

  windows(): Promise<MaintenanceWindow[]> {
    return this.list<MaintenanceWindow>('maintenance');
  }

  async getWindow(windowId: string): Promise<MaintenanceWindow | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: 'maintenance', sk: windowId },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, ...window } = Item;
    return window as MaintenanceWindow;
  }

  /** Compare-and-set on the window's activeOccurrence: one ticker wins a transition. */
  async transitionWindow(window: MaintenanceWindow, next: MaintenanceWindow): Promise<boolean> {
    // A one-off window that has ended stays for the retention, as a record.
    const over = !next.cron && !next.activeOccurrence && (next.history?.length ?? 0) > 0;
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: 'maintenance',
            sk: window.windowId,
            ...next,
            ...(over ? { expiresAt: this.expiry(next.endAt) } : {}),
          },
          ConditionExpression: window.activeOccurrence
            ? 'activeOccurrence = :seen AND startAt = :start'
            : 'attribute_not_exists(activeOccurrence) AND startAt = :start',
          ExpressionAttributeValues: {
            ':start': window.startAt,
            ...(window.activeOccurrence ? { ':seen': window.activeOccurrence } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Remembers which transition a precise timer is armed for, so that sweeps arm it once. */
  async markWindowTimer(windowId: string, at: string): Promise<void> {
    await this.markTimer('maintenance', windowId, at);
  }

  async markScheduleTimer(scheduleId: string, at: string): Promise<void> {
    await this.markTimer('schedule', scheduleId, at);
  }

  private async markTimer(pk: string, sk: string, at: string): Promise<void> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: 'SET timerFor = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async deleteWindow(windowId: string): Promise<void> {
    await dynamo().send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: 'maintenance', sk: windowId } }),
    );
  }

  // Cron schedules
  async putSchedule(schedule: CronSchedule): Promise<void> {
    await dynamo().send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: 'schedule', sk: schedule.scheduleId, ...schedule },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  schedules(): Promise<CronSchedule[]> {
    return this.list<CronSchedule>('schedule');
  }

  async getSchedule(scheduleId: string): Promise<CronSchedule | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: 'schedule', sk: scheduleId },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    const { pk: _pk, sk: _sk, ...schedule } = Item;
    return schedule as CronSchedule;
  }

  async setPaused(scheduleId: string, paused: boolean): Promise<CronSchedule | undefined> {
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'schedule', sk: scheduleId },
          UpdateExpression: 'SET paused = :paused, lastOccurrence = :now',
          ConditionExpression: 'attribute_exists(pk)',
          // Resuming does not replay what was missed while paused.
          ExpressionAttributeValues: { ':paused': paused, ':now': new Date().toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const { pk: _pk, sk: _sk, ...schedule } = Attributes ?? {};
      return schedule as CronSchedule;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Moves lastOccurrence forward if it is still what the ticker read. */
  async advanceSchedule(schedule: CronSchedule, occurrence: string, jobId: string): Promise<boolean> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'schedule', sk: schedule.scheduleId },
          UpdateExpression: 'SET lastOccurrence = :occurrence, lastJobId = :job',
          ConditionExpression: 'lastOccurrence = :seen AND paused = :false',
          ExpressionAttributeValues: {
            ':occurrence': occurrence,
            ':job': jobId,
            ':seen': schedule.lastOccurrence,
            ':false': false,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async deleteSchedule(scheduleId: string): Promise<boolean> {
    const { Attributes } = await dynamo().send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: 'schedule', sk: scheduleId },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  // Rate limits
  /** Operator pauses, one row per queue (`pause`, sk the queue). */
  async pauses(): Promise<Map<string, QueuePause>> {
    const rows = await this.list<QueuePause>('pause');
    return new Map(rows.map((p) => [p.queue, p]));
  }

  async pause(pause: QueuePause): Promise<boolean> {
    try {
      await dynamo().send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: 'pause', sk: pause.queue, ...pause },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async resume(queue: string): Promise<boolean> {
    const { Attributes } = await dynamo().send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: 'pause', sk: queue },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async setRateLimit(queue: string, limit: RateLimit | null, by: string): Promise<void> {
    if (!limit) {
      await dynamo().send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: 'ratelimit', sk: queue } }),
      );
      return;
    }
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: 'ratelimit', sk: queue },
        UpdateExpression: 'SET #limit = :limit, windowMs = :window, updatedAt = :now, updatedBy = :by',
        ExpressionAttributeNames: { '#limit': 'limit' },
        ExpressionAttributeValues: {
          ':limit': limit.limit,
          ':window': limit.windowMs,
          ':now': new Date().toISOString(),
          ':by': by,
        },
      }),
    );
  }

  async rateLimit(queue: string): Promise<(RateLimit & { tat?: number }) | undefined> {
    const { Item } = await dynamo().send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'ratelimit', sk: queue } }),
    );
    return Item ? { limit: Item.limit, windowMs: Item.windowMs, tat: Item.tat } : undefined;
  }

  async rateLimits(): Promise<Record<string, RateLimit>> {
    const { Items } = await dynamo().send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'ratelimit' },
      }),
    );
    return Object.fromEntries(
      (Items ?? []).map((item) => [item.sk as string, { limit: item.limit, windowMs: item.windowMs }]),
    );
  }

  // SLAs (domain/sla.ts): one row per queue, like rate limits.
  async setSla(queue: string, sla: QueueSla | null): Promise<void> {
    if (!sla) {
      await dynamo().send(new DeleteCommand({ TableName: this.tableName, Key: { pk: 'sla', sk: queue } }));
      return;
    }
    await dynamo().send(
      new PutCommand({ TableName: this.tableName, Item: { pk: 'sla', sk: queue, ...sla } }),
    );
  }

  /** Every queue's SLA, by queue. */
  async slas(): Promise<Map<string, QueueSla>> {
    const rows = await this.list<QueueSla>('sla');
    return new Map(rows.map((sla) => [sla.queue, sla]));
  }

  /**
   * Reserves the next start slot (GCRA): if the schedule is free now, the slot is now;
   * otherwise the one after the last reserved. Returns the slot's time (epoch ms).
   */
  async reserveSlot(queue: string, spacingMs: number, now: number): Promise<number> {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'ratelimit', sk: queue },
          UpdateExpression: 'SET tat = :next',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(tat) OR tat <= :now)',
          ExpressionAttributeValues: { ':next': now + spacingMs, ':now': now },
        }),
      );
      return now;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    try {
      const { Attributes } = await dynamo().send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: 'ratelimit', sk: queue },
          UpdateExpression: 'SET tat = tat + :spacing',
          ConditionExpression: 'attribute_exists(tat)',
          ExpressionAttributeValues: { ':spacing': spacingMs },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Math.max(now, (Attributes?.tat as number) - spacingMs);
    } catch (error) {
      // The limit was removed meanwhile: no limit, no wait.
      if (isConditionFailure(error)) return now;
      throw error;
    }
  }
}
