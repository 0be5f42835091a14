/** The factory's events, made of the tables' row changes, and the pages of GET /events. */
import { describe, expect, it } from 'vitest';
import {
  eventFilterSchema,
  eventId,
  type FactoryEvent,
  type JobEventImage,
  jobEventsOf,
  operationsEventsOf,
  orderEventsOf,
  type Publication,
  publicationId,
  readEventPage,
  settleMs,
  workerEventsOf,
} from '../../functions/domain/factory-events.ts';

const at = new Date('2026-12-01T10:00:05.000Z');
const queued: JobEventImage = {
  jobId: 'job_1',
  kind: 'job',
  queue: 'default',
  type: 'send_email',
  status: 'QUEUED',
  priority: 5,
  createdAt: '2026-12-01T10:00:00.000Z',
};
const running = { ...queued, status: 'RUNNING' as const, startedAt: '2026-12-01T10:00:01.000Z', attempts: 1 };
const change = (before: JobEventImage | undefined, after: JobEventImage | undefined, recordId = 'r1') => ({
  recordId,
  at,
  ...(before ? { before } : {}),
  ...(after ? { after } : {}),
});

describe('job events', () => {
  it('makes job.submitted of a new row, job.started and job.completed of its moves', () => {
    expect(jobEventsOf(change(undefined, queued))).toEqual([
      {
        type: 'job.submitted',
        at: queued.createdAt,
        queue: 'default',
        jobId: 'job_1',
        data: { type: 'send_email', kind: 'job', status: 'QUEUED', priority: 5 },
        key: 'r1#0',
      },
    ]);
    expect(jobEventsOf(change(queued, running)).map((e) => [e.type, e.at])).toEqual([
      ['job.started', running.startedAt],
    ]);
    const completed = { ...running, status: 'COMPLETED' as const, completedAt: '2026-12-01T10:00:01.250Z' };
    expect(jobEventsOf(change(running, completed))[0]).toMatchObject({
      type: 'job.completed',
      at: completed.completedAt,
      data: { runMs: 250, attempts: 1 },
    });
  });

  it('makes nothing of a heartbeat, and a failure with or without a retry', () => {
    expect(jobEventsOf(change(running, { ...running, updatedAt: at.toISOString() }))).toEqual([]);
    const failed = {
      ...running,
      status: 'FAILED' as const,
      lastError: 'boom',
      runAt: '2026-12-01T10:00:09.000Z',
    };
    expect(jobEventsOf(change(running, failed))[0]).toMatchObject({
      type: 'job.failed',
      data: { error: 'boom', willRetry: true, retryAt: failed.runAt },
    });
    const dead = { ...running, status: 'DEAD' as const, lastError: 'boom', deadAt: at.toISOString() };
    expect(jobEventsOf(change(running, dead)).map((e) => [e.type, e.data.willRetry])).toEqual([
      ['job.failed', false],
      ['job.dead', undefined],
    ]);
  });

  it('reports progress when it changes, a manual retry, and a robot step moving its order on', () => {
    const halfway = { ...running, progress: { percent: 50, message: 'rendering', at: at.toISOString() } };
    expect(jobEventsOf(change(running, halfway))).toMatchObject([
      { type: 'job.progress', data: { percent: 50, message: 'rendering' } },
    ]);
    expect(jobEventsOf(change(halfway, { ...halfway, updatedAt: 'later' }))).toEqual([]);
    const dead = { ...queued, status: 'DEAD' as const };
    expect(jobEventsOf(change(dead, { ...dead, status: 'RETRYING', manualRetries: 1 }))).toMatchObject([
      { type: 'job.retried', data: { from: 'DEAD', manualRetries: 1 } },
    ]);
    const step = { ...running, kind: 'step' as const, orderId: 'ord_1', stepName: 'weld', queue: 'assembly' };
    expect(
      jobEventsOf(change(step, { ...step, status: 'COMPLETED', completedAt: at.toISOString() })).map((e) => [
        e.type,
        e.orderId,
      ]),
    ).toEqual([
      ['job.completed', 'ord_1'],
      ['order.progress', 'ord_1'],
    ]);
  });

  it('gives each event of a change a key that is the same when the change is delivered again', () => {
    const once = jobEventsOf(change(undefined, queued, 'rec-9'));
    const again = jobEventsOf(change(undefined, queued, 'rec-9'));
    expect(again.map((e) => e.key)).toEqual(once.map((e) => e.key));
  });
});

/** A change of an order or operations row (their images are checked by the code under test). */
const rowChange = (before: object | undefined, after: object | undefined) =>
  change(before as never, after as never) as never;

describe('order and operations events', () => {
  const order = {
    orderId: 'ord_1',
    robotType: 'welder',
    status: 'PENDING' as const,
    createdAt: at.toISOString(),
  };
  it('makes order.created, order.completed and order.failed', () => {
    expect(orderEventsOf(rowChange(undefined, order as never))).toMatchObject([
      { type: 'order.created', orderId: 'ord_1', data: { robotType: 'welder' } },
    ]);
    expect(
      orderEventsOf(rowChange(order as never, { ...order, status: 'FAILED', error: 'weld failed' } as never)),
    ).toMatchObject([{ type: 'order.failed', data: { error: 'weld failed' } }]);
  });

  it('makes queue.paused and queue.resumed of a pause row, and scaling.changed of a scaling event', () => {
    const pause = {
      pk: 'pause',
      sk: 'reports',
      queue: 'reports',
      pausedAt: at.toISOString(),
      pausedBy: 'key:ops',
    };
    expect(operationsEventsOf(rowChange(undefined, pause as never))).toMatchObject([
      { type: 'queue.paused', queue: 'reports', data: { by: 'key:ops' } },
    ]);
    expect(operationsEventsOf(rowChange(pause as never, undefined))).toMatchObject([
      { type: 'queue.resumed', queue: 'reports' },
    ]);
    const scaled = { pk: 'scaling#media', sk: 'x', queue: 'media', from: 3, to: 6, source: 'autoscaler' };
    expect(operationsEventsOf(rowChange(undefined, scaled as never))).toMatchObject([
      { type: 'scaling.changed', queue: 'media', data: { from: 3, to: 6 } },
    ]);
    expect(operationsEventsOf(rowChange(undefined, { pk: 'schedule', sk: 's1' } as never))).toEqual([]);
    const backlog = {
      pk: 'backlog',
      sk: 'media',
      queue: 'media',
      at: at.toISOString(),
      depth: 12,
      inFlight: 3,
      delayed: 0,
      oldestWaitingMs: 900,
      concurrency: 6,
      paused: false,
      expiresAt: 1,
    };
    expect(operationsEventsOf(rowChange({ ...backlog, depth: 20 }, backlog))).toEqual([
      {
        type: 'queue.backlog',
        at: at.toISOString(),
        queue: 'media',
        data: { depth: 12, inFlight: 3, delayed: 0, oldestWaitingMs: 900, concurrency: 6, paused: false },
        key: 'r1#0',
      },
    ]);
  });
});

describe('worker events', () => {
  const row = {
    workerId: 'default:env-7',
    line: 'default',
    functionName: 'DefaultJobQueueWorker',
    status: 'idle',
    startedAt: '2026-12-01T10:00:00.000Z',
    lastHeartbeatAt: '2026-12-01T10:00:00.000Z',
  };
  const busy = { ...row, status: 'busy', currentJobId: 'job_1', lastHeartbeatAt: '2026-12-01T10:00:02.000Z' };

  it("makes worker.started of a worker's first row, and nothing of its heartbeats", () => {
    expect(workerEventsOf({ recordId: 'w1', at, after: row })).toEqual([
      {
        type: 'worker.started',
        at: row.startedAt,
        queue: 'default',
        data: { workerId: 'default:env-7', functionName: 'DefaultJobQueueWorker' },
        key: 'w1#0',
      },
    ]);
    expect(workerEventsOf({ recordId: 'w2', at, before: row, after: busy })).toEqual([]);
    expect(workerEventsOf({ recordId: 'w3', at, before: busy })).toEqual([]);
  });

  it('makes worker.lost when the dispatcher marks it, once', () => {
    const lost = { ...busy, status: 'lost', lostAt: '2026-12-01T10:01:00.000Z' };
    expect(workerEventsOf({ recordId: 'w4', at, before: busy, after: lost })).toEqual([
      {
        type: 'worker.lost',
        at: lost.lostAt,
        queue: 'default',
        data: { workerId: 'default:env-7', currentJobId: 'job_1', lastHeartbeatAt: busy.lastHeartbeatAt },
        key: 'w4#0',
      },
    ]);
    expect(
      workerEventsOf({
        recordId: 'w5',
        at,
        before: lost,
        after: { ...lost, memoryUsedMb: 3 } as typeof lost,
      }),
    ).toEqual([]);
  });
});

describe('pages of GET /events', () => {
  const now = new Date('2026-12-01T10:10:00.000Z');
  const publish = (ms: number, events: Omit<FactoryEvent, 'id' | 'key'>[]): Publication => {
    const publication = publicationId(ms, 'abcdef01');
    return {
      publication,
      events: events.map((e, i) => ({ ...e, id: eventId(publication, i), key: `k${i}` })),
    };
  };
  const job = (jobId: string, type: FactoryEvent['type']) => ({
    type,
    at: now.toISOString(),
    jobId,
    data: {},
  });
  const t = now.getTime();
  const stored = [
    publish(t - 120_000, [job('a', 'job.submitted'), job('b', 'job.submitted')]),
    publish(t - 60_000, [job('a', 'job.started')]),
    publish(t - 30_000, [job('a', 'job.completed'), job('b', 'job.started')]),
    // Not settled yet: listed on a later call.
    publish(t - settleMs / 2, [job('b', 'job.completed')]),
  ];
  const ports = {
    async *publications(minute: string, after?: string) {
      for (const p of stored)
        if (new Date(Number.parseInt(p.publication.slice(0, 9), 36)).toISOString().startsWith(minute))
          if (!after || p.publication >= after) yield p;
    },
    createdAt: async () => undefined,
  };
  const filter = (query: Record<string, string>) => eventFilterSchema.parse(query);

  it('lists settled events oldest first, filtered, with a cursor to go on from', async () => {
    const page = await readEventPage(ports, filter({ jobId: 'a' }), now, 86_400_000);
    expect(page.events.map((e) => e.type)).toEqual(['job.submitted', 'job.started', 'job.completed']);
    const next = await readEventPage(ports, filter({ jobId: 'b', after: page.nextCursor }), now, 86_400_000);
    expect(next.events).toEqual([]);
    const later = await readEventPage(
      ports,
      filter({ jobId: 'b', after: page.nextCursor }),
      new Date(t + settleMs),
      86_400_000,
    );
    expect(later.events.map((e) => e.type)).toEqual(['job.completed']);
  });

  it('stops at the limit, and the next page starts after the last event of this one', async () => {
    const first = await readEventPage(ports, filter({ limit: '2' }), now, 86_400_000);
    expect(first.events.map((e) => `${e.jobId}:${e.type}`)).toEqual(['a:job.submitted', 'b:job.submitted']);
    const second = await readEventPage(
      ports,
      filter({ limit: '2', after: first.nextCursor }),
      now,
      86_400_000,
    );
    expect(second.events.map((e) => `${e.jobId}:${e.type}`)).toEqual(['a:job.started', 'a:job.completed']);
  });

  it('refuses types it does not know and cursors it did not make', () => {
    expect(eventFilterSchema.safeParse({ type: 'job.completed,job.exploded' }).success).toBe(false);
    expect(eventFilterSchema.safeParse({ after: 'yesterday' }).success).toBe(false);
    expect(eventFilterSchema.parse({ type: 'job.completed,job.dead' }).type).toEqual([
      'job.completed',
      'job.dead',
    ]);
  });
});
