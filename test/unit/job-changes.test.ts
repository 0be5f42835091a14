/** What the analytics recorder counts from a job row's change (the jobs table's stream). */
import { describe, expect, it } from 'vitest';
import { type JobRowImage, metricDeltaOf } from '../../functions/domain/job-changes.ts';

const at = new Date('2026-12-01T10:00:05.000Z');
const queued: JobRowImage = {
  kind: 'job',
  queue: 'default',
  type: 'send_email',
  status: 'QUEUED',
  createdAt: '2026-12-01T10:00:00.000Z',
};
const running: JobRowImage = { ...queued, status: 'RUNNING', startedAt: '2026-12-01T10:00:02.000Z' };

describe('metricDeltaOf', () => {
  it('counts a job or step row entering the table as submitted, at its creation', () => {
    expect(metricDeltaOf({ after: queued, at })).toEqual({
      queue: 'default',
      type: 'send_email',
      at: new Date('2026-12-01T10:00:00.000Z'),
      submitted: 1,
    });
    expect(metricDeltaOf({ after: { ...queued, kind: 'step', queue: 'packaging' }, at })).toMatchObject({
      queue: 'packaging',
      submitted: 1,
    });
  });

  it('counts a completion with its run time and its wait from the due time', () => {
    const completed = {
      ...running,
      status: 'COMPLETED' as const,
      completedAt: '2026-12-01T10:00:02.250Z',
      runAt: '2026-12-01T10:00:01.000Z',
    };
    expect(metricDeltaOf({ before: running, after: completed, at })).toEqual({
      queue: 'default',
      type: 'send_email',
      at: new Date('2026-12-01T10:00:02.250Z'),
      completed: 1,
      runMs: 250,
      waitMs: 1000,
    });
  });

  it('counts a failed attempt, and a dead job as failed and dead', () => {
    expect(
      metricDeltaOf({
        before: running,
        after: { ...running, status: 'FAILED', failedAt: '2026-12-01T10:00:03.000Z' },
        at,
      }),
    ).toMatchObject({ failed: 1, at: new Date('2026-12-01T10:00:03.000Z') });
    expect(metricDeltaOf({ before: running, after: { ...running, status: 'DEAD' }, at })).toMatchObject({
      failed: 1,
      dead: 1,
      at,
    });
  });

  it('counts nothing for claims, heartbeats, cancellations, removals and rows that are not jobs', () => {
    expect(metricDeltaOf({ before: queued, after: running, at })).toBeUndefined();
    expect(
      metricDeltaOf({ before: running, after: { ...running, updatedAt: '2026-12-01T10:00:04.000Z' }, at }),
    ).toBeUndefined();
    expect(
      metricDeltaOf({ before: running, after: { ...running, status: 'CANCELLED' }, at }),
    ).toBeUndefined();
    expect(metricDeltaOf({ before: running, at })).toBeUndefined();
    // An intake marker shares the table; it is not a job.
    expect(metricDeltaOf({ after: { createdAt: queued.createdAt } as JobRowImage, at })).toBeUndefined();
  });
});
