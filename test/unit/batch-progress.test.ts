/** A batch's progress from stream counters, confirmed from its rows when it says finished. */
import { describe, expect, it } from 'vitest';
import {
  type BatchCounts,
  batchCountChangesOf,
  batchProgress,
  progressOfCounts,
  progressOfRows,
  quietCountersMs,
} from '../../functions/domain/batch-progress.ts';
import type { JobRowChange, JobRowImage } from '../../functions/domain/job-changes.ts';
import type { JobStatus } from '../../functions/domain/jobs.ts';

const at = new Date('2026-12-06T10:00:00.000Z');
const batch = (total: number) => ({ total, createdAt: '2026-12-06T09:59:59.000Z' });
/** `batchId` '' is a job outside batches. */
const row = (status: JobStatus, batchId = 'batch_a'): JobRowImage => ({
  kind: 'job',
  queue: 'default',
  type: 'send_email',
  status,
  createdAt: '2026-12-06T09:59:59.000Z',
  ...(batchId ? { batchId } : {}),
});
const change = (before: JobRowImage | undefined, after: JobRowImage | undefined): JobRowChange => ({
  ...(before ? { before } : {}),
  ...(after ? { after } : {}),
  at,
});

/** Applies stream batches as the store does (ADD per counter). */
function counters(
  ...batches: ReturnType<typeof batchCountChangesOf>[]
): Record<string, Partial<BatchCounts>> {
  const out: Record<string, Record<string, number>> = {};
  for (const batch of batches)
    for (const [batchId, counts] of Object.entries(batch)) {
      const item = out[batchId] ?? {};
      for (const [name, n] of Object.entries(counts)) item[name] = (item[name] ?? 0) + (n ?? 0);
      out[batchId] = item;
    }
  return out;
}

describe('batch counters off the stream', () => {
  it('moves a job between states and leaves pending uncounted', () => {
    const changes = [
      change(undefined, row('QUEUED')),
      change(row('QUEUED'), row('RUNNING')),
      change(row('RUNNING'), row('COMPLETED')),
      change(undefined, row('QUEUED', 'batch_b')),
      change(row('QUEUED', 'batch_b'), row('RUNNING', 'batch_b')),
      change(row('RUNNING', 'batch_b'), row('FAILED', 'batch_b')),
      change(row('FAILED', 'batch_b'), row('RETRYING', 'batch_b')),
    ];
    expect(batchCountChangesOf(changes)).toEqual({ batch_a: { completed: 1 } });
  });

  it('counts nothing for a heartbeat, a job outside batches or a row removed by retention', () => {
    expect(
      batchCountChangesOf([
        change(row('RUNNING'), row('RUNNING')),
        change(row('QUEUED', ''), row('RUNNING', '')),
        change(row('COMPLETED'), undefined),
      ]),
    ).toEqual({});
  });

  it('reads a batch through its life from the counters alone until they say it finished', async () => {
    const jobs = ['QUEUED', 'QUEUED', 'QUEUED'] as JobStatus[];
    const stream: JobRowChange[][] = [];
    const move = (i: number, to: JobStatus) => {
      stream.push([change(row(jobs[i] as JobStatus), row(to))]);
      jobs[i] = to;
    };
    let rowReads = 0;
    // Each read a second after the last change: the counters are never quiet here.
    const read = (exact = false) =>
      batchProgress(
        batch(3),
        {
          counted: async () => ({
            counts: counters(...stream.map(batchCountChangesOf)).batch_a ?? {},
            updatedAt: at.getTime(),
          }),
          statuses: async () => {
            rowReads += 1;
            return [...jobs];
          },
        },
        { exact, now: new Date(at.getTime() + 1000) },
      );

    expect(await read()).toMatchObject({ pending: 3, running: 0, finished: false, progress: 0 });
    move(0, 'RUNNING');
    move(1, 'RUNNING');
    expect(await read()).toMatchObject({ pending: 1, running: 2, finished: false });
    move(0, 'COMPLETED');
    move(1, 'DEAD');
    move(2, 'CANCELLED');
    expect(rowReads).toBe(0);
    expect(await read()).toMatchObject({
      total: 3,
      pending: 0,
      running: 0,
      completed: 1,
      dead: 1,
      cancelled: 1,
      finished: true,
      progress: 100,
    });
    expect(rowReads).toBe(1);
    expect(await read(true)).toMatchObject({ completed: 1, finished: true });
    expect(rowReads).toBe(2);
  });

  it('never reports a finish that a stream batch counted twice: the rows say otherwise', async () => {
    const twice = batchCountChangesOf([change(row('RUNNING'), row('COMPLETED'))]);
    const counted = counters(twice, twice).batch_a ?? {};
    expect(counted).toEqual({ completed: 2, running: -2 });
    const progress = await batchProgress(
      batch(2),
      {
        counted: async () => ({ counts: counted, updatedAt: at.getTime() }),
        statuses: async () => ['COMPLETED', 'RUNNING'],
      },
      { now: at },
    );
    expect(progress).toMatchObject({ completed: 1, running: 1, pending: 0, finished: false, progress: 50 });
  });

  it('never leaves a batch unfinished for good on an undercount: quiet counters are checked against the rows', async () => {
    // A dead job retried (DEAD → RETRYING) in a stream batch applied twice: one too few dead.
    const retried = batchCountChangesOf([change(row('DEAD'), row('RETRYING'))]);
    const died = batchCountChangesOf([change(row('RUNNING'), row('DEAD'))]);
    const counted = counters(died, retried, retried, died).batch_a ?? {};
    expect(counted).toEqual({ dead: 0, running: -2 });
    let rowReads = 0;
    const read = (now: Date) =>
      batchProgress(
        batch(1),
        {
          counted: async () => ({ counts: counted, updatedAt: at.getTime() }),
          statuses: async () => {
            rowReads += 1;
            return ['DEAD'];
          },
        },
        { now },
      );
    expect(await read(new Date(at.getTime() + quietCountersMs - 1))).toMatchObject({
      dead: 0,
      finished: false,
    });
    expect(rowReads).toBe(0);
    expect(await read(new Date(at.getTime() + quietCountersMs))).toMatchObject({ dead: 1, finished: true });
    expect(rowReads).toBe(1);
  });

  it('clamps double counts to the batch size, finished states first', () => {
    expect(progressOfCounts(4, { completed: 3, running: 3, failed: -1 })).toEqual({
      total: 4,
      completed: 3,
      dead: 0,
      cancelled: 0,
      failed: 0,
      running: 1,
      pending: 0,
      finished: false,
      progress: 75,
    });
    expect(progressOfCounts(0, {})).toMatchObject({ finished: true, progress: 100 });
  });

  it('counts a batch made before the counters from its rows, every time', async () => {
    let rowReads = 0;
    const progress = await batchProgress(
      batch(2),
      {
        counted: async () => undefined,
        statuses: async () => {
          rowReads += 1;
          return ['COMPLETED', 'QUEUED'];
        },
      },
      { now: at },
    );
    expect(rowReads).toBe(1);
    expect(progress).toMatchObject({ completed: 1, pending: 1, finished: false });
    // Its completed rows gone by retention, its dead one kept: the rows there are, none made up.
    expect(progressOfRows(3, ['DEAD'], undefined)).toMatchObject({
      dead: 1,
      completed: 0,
      pending: 0,
      finished: false,
    });
  });

  it('lets the counters speak for rows retention removed, unless a row left is unfinished', () => {
    expect(progressOfRows(3, ['COMPLETED'], { completed: 3 })).toMatchObject({
      completed: 3,
      finished: true,
    });
    expect(progressOfRows(3, ['RUNNING'], { completed: 3 })).toMatchObject({ finished: false });
  });
});
