/** What the analytics recorder counts from a job row's change (the jobs table's stream). */
import { describe, expect, it } from 'vitest';
import { type JobRowImage, metricDeltaOf } from '../../functions/domain/job-changes.ts';
import { bucketAdditions, increments, type MetricDelta } from '../../functions/domain/throughput.ts';

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

describe('what an ended attempt adds to the buckets (retries, errors, utilisation)', () => {
  const started = { ...running, attempts: 2, startedAt: '2026-12-01T10:00:02.000Z' };

  it('counts a completion by its attempt number, and a retry’s run time', () => {
    const completed = {
      ...started,
      status: 'COMPLETED' as const,
      completedAt: '2026-12-01T10:00:02.400Z',
      runAt: '2026-12-01T10:00:02.000Z',
    };
    const delta = metricDeltaOf({ before: started, after: completed, at });
    expect(delta).toMatchObject({ completed: 1, runMs: 400, attempt: 2 });
    expect(increments(delta as MetricDelta)).toMatchObject({ ac2: 1, retryRunMsSum: 400, runMsSum: 400 });
  });

  it('counts a failed attempt with its run time, its backoff and its error class', () => {
    const failed: JobRowImage = {
      ...started,
      status: 'FAILED',
      failedAt: '2026-12-01T10:00:03.500Z',
      runAt: '2026-12-01T10:00:05.500Z',
      lastError: 'Partner acct_12 answered HTTP 503 after 2000 ms',
    };
    const delta = metricDeltaOf({ before: started, after: failed, at }) as MetricDelta;
    expect(delta).toMatchObject({
      failed: 1,
      attempt: 2,
      failedRunMs: 1500,
      retryDelayMs: 2000,
      errorClass: { label: 'Partner acct_<n> answered HTTP <n> after <n> ms' },
    });
    // The same class whatever the account and times: one id.
    const other = metricDeltaOf({
      before: started,
      after: { ...failed, lastError: 'Partner acct_97 answered HTTP 502 after 10 ms' },
      at,
    }) as MetricDelta;
    expect(other.errorClass?.id).toBe(delta.errorClass?.id);
    expect(delta.errorClass?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(increments(delta)).toEqual({
      failed: 1,
      af2: 1,
      retryRunMsSum: 1500,
      failedRunMsSum: 1500,
      failedRuns: 1,
      retryDelayMsSum: 2000,
      [`x_${delta.errorClass?.id}`]: 1,
    });
  });

  it('counts no attempt for a workflow’s DEAD record after a FAILED attempt (that one was counted)', () => {
    const failed: JobRowImage = {
      ...started,
      kind: 'step',
      status: 'FAILED',
      failedAt: '2026-12-01T10:00:03.000Z',
    };
    const dead = metricDeltaOf({
      before: failed,
      after: { ...failed, status: 'DEAD', lastError: 'boom' },
      at,
    });
    expect(dead).toMatchObject({ failed: 1, dead: 1 });
    expect(dead).not.toHaveProperty('attempt');
    expect(dead).not.toHaveProperty('errorClass');
    // Out of attempts while running: the attempt ended, dead.
    const ranOut = metricDeltaOf({
      before: started,
      after: { ...started, status: 'DEAD', deadAt: '2026-12-01T10:00:02.100Z', lastError: 'boom' },
      at,
    });
    expect(ranOut).toMatchObject({ dead: 1, attempt: 2, failedRunMs: 100 });
    expect(ranOut).not.toHaveProperty('retryDelayMs');
  });

  it('counts attempts past the tenth as the tenth, and keeps each bucket’s error texts beside their counters', () => {
    expect(increments({ queue: 'q', type: 't', at, completed: 1, attempt: 14 })).toMatchObject({ ac10: 1 });
    const [minute] = bucketAdditions([
      { queue: 'q', type: 't', at, failed: 1, attempt: 1, errorClass: { id: 'aaaa0001', label: 'boom <n>' } },
      { queue: 'q', type: 't', at, failed: 1, attempt: 1, errorClass: { id: 'aaaa0001', label: 'boom <n>' } },
      { queue: 'q', type: 't', at, failed: 1, attempt: 1, errorClass: { id: 'bbbb0002', label: 'nope' } },
    ]);
    expect(minute?.counters).toMatchObject({ failed: 3, af1: 3, x_aaaa0001: 2, x_bbbb0002: 1 });
    expect(minute?.errorClasses).toEqual({ aaaa0001: 'boom <n>', bbbb0002: 'nope' });
  });
});
