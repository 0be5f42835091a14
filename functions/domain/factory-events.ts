/**
 * The factory's event stream (docs/events.md): every state change as one event of a stable
 * shape, derived from the data itself — the changes of the jobs, orders and operations tables'
 * rows (their DynamoDB streams, before and after) — never from "publish" calls on the job path.
 * The publisher (workers/event-publisher.ts) keeps them for `GET /events` and puts them on the
 * EventBridge bus for outside consumers.
 *
 * Delivery is at least once: a stream batch retried by Lambda publishes its events again, with
 * the same `key` (the change's identity: its stream record), by which a consumer can drop it.
 */
import * as z from 'zod';
import type { Alert } from './alerts.ts';
import { isJobRow, type JobRowImage } from './job-changes.ts';
import type { JobStatus } from './jobs.ts';
import type { OrderStatus } from './orders.ts';

export const eventTypes = [
  'job.submitted',
  'job.started',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.dead',
  'job.cancelled',
  'job.retried',
  'order.created',
  'order.progress',
  'order.completed',
  'order.failed',
  'order.cancelled',
  'worker.started',
  'worker.lost',
  'queue.paused',
  'queue.resumed',
  'queue.backlog',
  'scaling.changed',
  'alert.fired',
  'alert.resolved',
] as const;
export type EventType = (typeof eventTypes)[number];

/** An event as it is published, before the publisher gives it its place (`id`) in the stream. */
export interface FactoryEventDraft {
  readonly type: EventType;
  /** When the change happened (ISO), from the row's own timestamps. */
  readonly at: string;
  readonly queue?: string;
  readonly jobId?: string;
  readonly orderId?: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** The change's identity (stream record id and position), the same when a batch is retried. */
  readonly key: string;
}

/** An event as `GET /events`, the bus and the WebSocket carry it. */
export interface FactoryEvent extends Omit<FactoryEventDraft, 'key'> {
  /** Its place in the stream: sortable by publication, the `after` of GET /events. */
  readonly id: string;
  readonly key: string;
}

/** One changed row of a table (its stream record). */
export interface RowChange<T> {
  /** The stream record's id: stable when a batch is delivered again. */
  readonly recordId: string;
  readonly before?: T;
  readonly after?: T;
  /** When the change was written (the stream record's creation time). */
  readonly at: Date;
}

export type JobEventImage = JobRowImage & {
  readonly jobId?: string;
  readonly orderId?: string;
  readonly stepName?: string;
  readonly attempts?: number;
  readonly maxAttempts?: number;
  readonly lastError?: string;
  readonly manualRetries?: number;
  readonly cancelReason?: string;
  readonly cancelledAt?: string;
  readonly progress?: { readonly percent: number; readonly message?: string; readonly at?: string };
};

const iso = (value: string | undefined, fallback: Date) =>
  value && !Number.isNaN(Date.parse(value)) ? value : fallback.toISOString();

/** The events one change of a job (or robot step) row makes; a heartbeat or a claim makes none. */
export function jobEventsOf(change: RowChange<JobEventImage>): FactoryEventDraft[] {
  const { before, after } = change;
  if (!isJobRow(after) || !after.jobId || !after.status) return [];
  const base = {
    queue: after.queue,
    jobId: after.jobId,
    ...(after.orderId ? { orderId: after.orderId } : {}),
  };
  const common = {
    type: after.type,
    kind: after.kind,
    status: after.status,
    ...(after.stepName ? { stepName: after.stepName } : {}),
    ...(after.attempts !== undefined ? { attempts: after.attempts } : {}),
  };
  const events: FactoryEventDraft[] = [];
  const push = (type: EventType, at: string | undefined, data: Record<string, unknown> = {}) =>
    events.push({
      type,
      at: iso(at, change.at),
      ...base,
      data: { ...common, ...data },
      key: `${change.recordId}#${events.length}`,
    });

  if (!before) push('job.submitted', after.createdAt, { priority: after.priority ?? 5 });
  const moved = before !== undefined && before.status !== after.status;
  if (moved || !before) {
    switch (after.status as JobStatus) {
      case 'RUNNING':
        push('job.started', after.startedAt ?? after.updatedAt);
        break;
      case 'COMPLETED':
        push('job.completed', after.completedAt ?? after.updatedAt, {
          runMs:
            Math.max(0, Date.parse(after.completedAt ?? '') - Date.parse(after.startedAt ?? '')) || undefined,
        });
        break;
      case 'FAILED':
        push('job.failed', after.failedAt ?? after.updatedAt, {
          error: after.lastError,
          willRetry: true,
          retryAt: after.runAt,
        });
        break;
      case 'DEAD':
        // The last attempt failed: a failure with no retry, and the job is dead.
        if (before && before.status !== 'CANCELLED')
          push('job.failed', after.deadAt ?? after.updatedAt, { error: after.lastError, willRetry: false });
        push('job.dead', after.deadAt ?? after.updatedAt, { error: after.lastError });
        break;
      case 'CANCELLED':
        push('job.cancelled', after.cancelledAt ?? after.updatedAt, { reason: after.cancelReason });
        break;
      case 'RETRYING':
        push('job.retried', after.updatedAt, { from: before?.status, manualRetries: after.manualRetries });
        break;
      default:
        break;
    }
  }
  const progress = after.progress;
  if (
    progress &&
    (progress.percent !== before?.progress?.percent || progress.message !== before?.progress?.message)
  )
    push('job.progress', progress.at ?? after.updatedAt, {
      percent: progress.percent,
      message: progress.message,
    });
  // A robot step that finished moves its order on.
  if (
    after.kind === 'step' &&
    after.orderId &&
    moved &&
    (after.status === 'COMPLETED' || after.status === 'DEAD')
  )
    push('order.progress', after.completedAt ?? after.deadAt ?? after.updatedAt, {
      step: after.stepName,
      stepStatus: after.status,
    });
  return events.map((e) => ({ ...e, data: withoutUndefined(e.data) }));
}

export interface OrderEventImage {
  readonly orderId?: string;
  readonly robotType?: string;
  readonly customerId?: string;
  readonly status?: OrderStatus;
  readonly priority?: number;
  readonly createdAt?: string;
  readonly completedAt?: string;
  readonly failedAt?: string;
  readonly cancelledAt?: string;
  readonly error?: string;
  readonly resumedAt?: string;
}

/** The events one change of an order row makes. */
export function orderEventsOf(change: RowChange<OrderEventImage>): FactoryEventDraft[] {
  const { before, after } = change;
  if (!after?.orderId || !after.status) return [];
  const data = { robotType: after.robotType, customerId: after.customerId, status: after.status };
  const event = (type: EventType, at: string | undefined, extra: Record<string, unknown> = {}) => ({
    type,
    at: iso(at, change.at),
    orderId: after.orderId,
    data: withoutUndefined({ ...data, ...extra }),
    key: `${change.recordId}#${type}`,
  });
  if (!before) return [event('order.created', after.createdAt, { priority: after.priority })];
  if (before.status === after.status) return [];
  switch (after.status) {
    case 'COMPLETED':
      return [event('order.completed', after.completedAt)];
    case 'FAILED':
      return [event('order.failed', after.failedAt, { error: after.error })];
    case 'CANCELLED':
      return [event('order.cancelled', after.cancelledAt)];
    case 'IN_PROGRESS':
      // Started, or resumed after a failure (POST /orders/{id}/retry).
      return [event('order.progress', after.resumedAt ?? change.at.toISOString(), { from: before.status })];
    default:
      return [];
  }
}

/** Rows of the operations table, as far as events are made of them (pk/sk kinds). */
export interface OperationsEventImage {
  readonly pk?: string;
  readonly sk?: string;
  readonly queue?: string;
  readonly pausedAt?: string;
  readonly pausedBy?: string;
  readonly reason?: string;
  readonly at?: string;
  readonly from?: number;
  readonly to?: number;
  readonly by?: string;
  readonly source?: string;
  readonly status?: string;
}

/** The events one change of an operations row makes: pauses, backlog snapshots, scaling decisions. */
export function operationsEventsOf(change: RowChange<OperationsEventImage>): FactoryEventDraft[] {
  const { before, after } = change;
  const row = after ?? before;
  if (!row?.pk) return [];
  if (row.pk === 'pause') {
    const queue = row.queue ?? row.sk;
    if (after && !before)
      return [
        {
          type: 'queue.paused',
          at: iso(after.pausedAt, change.at),
          queue,
          data: withoutUndefined({ by: after.pausedBy, reason: after.reason }),
          key: `${change.recordId}#0`,
        },
      ];
    if (before && !after)
      return [
        { type: 'queue.resumed', at: change.at.toISOString(), queue, data: {}, key: `${change.recordId}#0` },
      ];
    return [];
  }
  if (row.pk === 'backlog' && after) {
    const {
      pk: _pk,
      sk: _sk,
      queue,
      at,
      expiresAt: _e,
      ...backlog
    } = after as OperationsEventImage & Record<string, unknown>;
    return [
      {
        type: 'queue.backlog',
        at: iso(at, change.at),
        queue: queue ?? row.sk,
        data: withoutUndefined(backlog),
        key: `${change.recordId}#0`,
      },
    ];
  }
  if (row.pk === 'alert' && after) {
    // An alert opens once (its insert) and resolves once (its status turns resolved).
    const alert = after as OperationsEventImage & Partial<Alert>;
    const fired = !before;
    const resolved = before?.status === 'firing' && alert.status === 'resolved';
    if (!fired && !resolved) return [];
    return [
      {
        type: fired ? 'alert.fired' : 'alert.resolved',
        at: iso(fired ? alert.firedAt : alert.resolvedAt, change.at),
        ...(alert.condition?.queue ? { queue: alert.condition.queue } : {}),
        data: withoutUndefined({
          alertId: alert.alertId,
          ruleId: alert.ruleId,
          name: alert.name,
          metric: alert.condition?.metric,
          type: alert.condition?.type,
          op: alert.condition?.op,
          threshold: alert.condition?.threshold,
          value: fired ? alert.value : alert.resolvedValue,
          expected: alert.expected,
          resolvedBecause: alert.resolvedBecause,
          source: alert.source,
        }),
        key: `${change.recordId}#0`,
      },
    ];
  }
  if (row.pk.startsWith('scaling#') && after && !before)
    return [
      {
        type: 'scaling.changed',
        at: iso(after.at, change.at),
        queue: after.queue ?? row.pk.slice('scaling#'.length),
        data: withoutUndefined({
          from: after.from,
          to: after.to,
          by: after.by,
          source: after.source,
          reason: after.reason,
        }),
        key: `${change.recordId}#0`,
      },
    ];
  return [];
}

/** Rows of the workers table (one per execution environment, adapters/worker-registry.ts). */
export interface WorkerEventImage {
  readonly workerId?: string;
  readonly line?: string;
  readonly functionName?: string;
  readonly status?: string;
  readonly currentJobId?: string | null;
  readonly startedAt?: string;
  readonly lastHeartbeatAt?: string;
  readonly lostAt?: string;
}

/**
 * The events one change of a worker row makes: its first write (an execution environment
 * started), and the job dispatcher marking it lost (its lease ran out mid-job). Heartbeats and
 * the row's expiry make none.
 */
export function workerEventsOf(change: RowChange<WorkerEventImage>): FactoryEventDraft[] {
  const { before, after } = change;
  if (!after?.workerId) return [];
  const event = (type: EventType, at: string | undefined, data: Record<string, unknown>) => ({
    type,
    at: iso(at, change.at),
    queue: after.line,
    data: withoutUndefined({ workerId: after.workerId, ...data }),
    key: `${change.recordId}#0`,
  });
  if (!before) return [event('worker.started', after.startedAt, { functionName: after.functionName })];
  if (after.status === 'lost' && before.status !== 'lost')
    return [
      event('worker.lost', after.lostAt, {
        currentJobId: after.currentJobId ?? undefined,
        lastHeartbeatAt: after.lastHeartbeatAt,
      }),
    ];
  return [];
}

const withoutUndefined = (data: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined));

/**
 * Event ids: the publication time (ms, base 36, fixed width) and a random part, then the
 * event's index in its publication, so that ids sort in the order they were published.
 */
export const publicationId = (publishedAtMs: number, random: string): string =>
  `${publishedAtMs.toString(36).padStart(9, '0')}${random}`;
export const eventId = (publication: string, index: number): string =>
  `${publication}-${index.toString(36).padStart(4, '0')}`;
export const publishedAtOf = (id: string): number => Number.parseInt(id.slice(0, 9), 36);

export const eventFilterSchema = z.object({
  after: z
    .string()
    .regex(/^[0-9a-z]{9}[0-9a-f]{8}-[0-9a-z]{4}$/, 'an event id from a previous page')
    .optional(),
  type: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(z.enum(eventTypes)).min(1))
    .optional(),
  queue: z.string().min(1).max(64).optional(),
  jobId: z.string().min(1).max(200).optional(),
  orderId: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type EventFilter = z.infer<typeof eventFilterSchema>;

export const matchesFilter = (event: FactoryEvent, filter: Omit<EventFilter, 'limit' | 'after'>): boolean =>
  (!filter.type || filter.type.includes(event.type)) &&
  (!filter.queue || event.queue === filter.queue) &&
  (!filter.jobId || event.jobId === filter.jobId) &&
  (!filter.orderId || event.orderId === filter.orderId);

/** Where events come from: the tables whose changes make them, by the name of their kind. */
export const eventSources = {
  jobs: jobEventsOf,
  orders: orderEventsOf,
  operations: operationsEventsOf,
  workers: workerEventsOf,
} as const;
export type EventSourceKind = keyof typeof eventSources;

/** The `source` of the factory's events on the EventBridge bus. */
export const busSource = 'robot-factory';

/**
 * Events are read only up to this long ago: publishers run side by side, and one may land an
 * item a moment after another's later one; a reader that stays this far behind never skips it.
 */
export const settleMs = 2_000;
/** Without `after`, a page starts this long ago (or at the job's or order's creation). */
export const defaultLookbackMs = 15 * 60_000;
/** Items (publications) one page reads at most; a page that stops early still has a cursor. */
export const maxItemsPerPage = 200;

const minuteMs = 60_000;
export const minuteOf = (ms: number): string =>
  new Date(Math.floor(ms / minuteMs) * minuteMs).toISOString().slice(0, 16);

export interface Publication {
  readonly publication: string;
  readonly events: readonly FactoryEvent[];
}

export interface EventPagePorts {
  /** A minute's publications in order, those after `afterPublication` when given. */
  publications(minute: string, afterPublication?: string): AsyncIterable<Publication>;
  /** Where a job's or order's events begin (its creation), when it exists. */
  createdAt(filter: { jobId?: string; orderId?: string }): Promise<string | undefined>;
}

export interface EventPage {
  readonly events: FactoryEvent[];
  /** The `after` of the next page: the stream goes on, so there always is one. */
  readonly nextCursor: string;
}

/** A page of events matching `filter`, oldest first, from `after` (exclusive) on. */
export async function readEventPage(
  ports: EventPagePorts,
  filter: EventFilter,
  now: Date,
  retentionMs: number,
): Promise<EventPage> {
  const horizon = now.getTime() - settleMs;
  const created = filter.after ? undefined : await ports.createdAt(filter);
  const start = Math.max(
    now.getTime() - retentionMs,
    filter.after
      ? publishedAtOf(filter.after)
      : created
        ? Date.parse(created) - settleMs
        : now.getTime() - defaultLookbackMs,
  );
  const afterPublication = filter.after?.slice(0, filter.after.indexOf('-'));
  const events: FactoryEvent[] = [];
  let cursor = filter.after;
  let items = 0;
  for (let minute = Math.floor(start / minuteMs) * minuteMs; minute <= horizon; minute += minuteMs) {
    for await (const item of ports.publications(minuteOf(minute), afterPublication)) {
      if (publishedAtOf(item.publication) > horizon) break;
      for (const event of item.events) {
        if (filter.after && event.id <= filter.after) continue;
        cursor = event.id;
        if (!matchesFilter(event, filter)) continue;
        events.push(event);
        if (events.length >= filter.limit) return { events, nextCursor: event.id };
      }
      if (++items >= maxItemsPerPage) return { events, nextCursor: cursor ?? eventId(item.publication, 0) };
    }
  }
  // Read to the horizon: the next page starts there.
  const horizonCursor = eventId(publicationId(horizon, '00000000'), 0);
  return { events, nextCursor: cursor && cursor > horizonCursor ? cursor : horizonCursor };
}
