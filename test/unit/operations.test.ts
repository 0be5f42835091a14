import { describe, expect, it } from 'vitest';
import {
  dueOccurrence,
  InvalidSchedule,
  nextRuns,
  occurrenceKey,
  validateCron,
} from '../../functions/domain/cron-schedules.ts';
import { bucketOf, bucketValue, merge, percentile, summary } from '../../functions/domain/histogram.ts';
import { planWindow, windowAction } from '../../functions/domain/maintenance.ts';
import { slotSpacingMs } from '../../functions/domain/rate-limits.ts';
import {
  bucketAdditions,
  increments,
  ordersReport,
  throughputReport,
} from '../../functions/domain/throughput.ts';
import {
  autoscale,
  boundsOf,
  describeMode,
  scalingBounds,
  splitAcrossBands,
} from '../../functions/domain/worker-scaling.ts';
import { workerStatus } from '../../functions/domain/worker-status.ts';

describe('scaling', () => {
  it('splits a job queue over its bands by weight, at least 2 each, adding up to the total', () => {
    expect(splitAcrossBands('default', 12)).toEqual({ urgent: 6, normal: 4, low: 2 });
    expect(splitAcrossBands('default', 6)).toEqual({ urgent: 2, normal: 2, low: 2 });
    for (const total of [6, 7, 13, 50, 999]) {
      const parts = splitAcrossBands('reports', total);
      expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBe(total);
      expect(Math.min(...Object.values(parts))).toBeGreaterThanOrEqual(2);
    }
  });

  it('autoscales on backlog per worker, on the oldest wait, halves at most on the way down, idles to min', () => {
    const bounds = { min: 6, max: 60 };
    expect(autoscale(6, { depth: 30, inFlight: 6, oldestWaitingMs: 1000 }, bounds).desired).toBe(18);
    expect(autoscale(10, { depth: 2, inFlight: 8, oldestWaitingMs: 45_000 }, bounds)).toMatchObject({
      desired: 15,
      reason: expect.stringMatching(/oldest job waiting 45 s/),
    });
    expect(autoscale(40, { depth: 0, inFlight: 4, oldestWaitingMs: null }, bounds).desired).toBe(20);
    expect(autoscale(40, { depth: 0, inFlight: 0, oldestWaitingMs: null }, bounds)).toMatchObject({
      desired: 6,
      reason: expect.stringMatching(/^idle/),
    });
    expect(autoscale(50, { depth: 5000, inFlight: 50, oldestWaitingMs: null }, bounds).desired).toBe(60);
    // Every queue has three priority bands, each at least 2 workers (AWS's floor).
    expect(scalingBounds('packaging').min).toBe(6);
  });

  it("holds an operator's decision: a pinned queue shows manual, a released one its bounds", () => {
    const at = '2026-11-22T12:00:00Z';
    expect(
      describeMode('reports', {
        queue: 'reports',
        mode: 'manual',
        concurrency: 12,
        by: 'ada',
        at,
        reason: 'month end',
      }),
    ).toEqual({
      mode: 'manual',
      pinnedTo: 12,
      since: at,
      by: 'ada',
      reason: 'month end',
    });
    expect(describeMode('reports', undefined)).toEqual({
      mode: 'auto',
      policy: 'target-tracking',
      bounds: scalingBounds('reports'),
    });
    expect(
      boundsOf('reports', { queue: 'reports', mode: 'auto', min: 8, by: 'ada', at, reason: 'r' }),
    ).toEqual({
      min: 8,
      max: scalingBounds('reports').max,
    });
  });

  it('calls a busy worker that stopped heartbeating lost', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    expect(workerStatus({ status: 'busy', lastHeartbeatAt: '2026-11-22T11:59:50Z' }, now)).toBe('busy');
    expect(workerStatus({ status: 'busy', lastHeartbeatAt: '2026-11-22T11:58:00Z' }, now)).toBe('lost');
    expect(workerStatus({ status: 'idle', lastHeartbeatAt: '2026-11-22T11:00:00Z' }, now)).toBe('idle');
  });
});

describe('histograms', () => {
  it('bucket values within ±10% and merge by adding counts', () => {
    for (const ms of [1, 7, 100, 1234, 98_765]) {
      expect(Math.abs(bucketValue(bucketOf(ms)) - ms) / ms).toBeLessThan(0.1);
    }
    const a = { [bucketOf(10)]: 90 };
    const b = { [bucketOf(1000)]: 10 };
    const merged = merge(merge({}, a), b);
    expect(percentile(merged, 50)).toBe(bucketValue(bucketOf(10)));
    expect(percentile(merged, 95)).toBe(bucketValue(bucketOf(1000)));
    expect(summary({})).toEqual({ count: 0, p50: null, p95: null, p99: null });
  });

  it('sums a batch of events into one addition per stored bucket', () => {
    const at = new Date('2026-12-01T10:00:30.000Z');
    const additions = bucketAdditions([
      { queue: 'default', type: 'send_email', at, completed: 1, runMs: 40 },
      {
        queue: 'default',
        type: 'send_email',
        at: new Date('2026-12-01T10:00:59.000Z'),
        completed: 1,
        runMs: 40,
      },
      { queue: 'default', type: 'send_email', at: new Date('2026-12-01T10:01:10.000Z'), failed: 1 },
      { queue: 'media', type: 'resize_image', at, submitted: 3 },
      { queue: 'default', type: 'send_email', at }, // a delta that adds nothing
    ]);
    const find = (granularity: string, queue: string, bucket: string) =>
      additions.find((a) => a.granularity === granularity && a.queue === queue && a.bucket === bucket)
        ?.counters;
    expect(additions).toHaveLength(5); // default: 2 minutes + 1 hour; media: 1 minute + 1 hour
    expect(find('minute', 'default', '2026-12-01T10:00:00.000Z')).toEqual({
      completed: 2,
      [`r${bucketOf(40)}`]: 2,
      // Exact sums beside the histogram (slow-jobs' means and regression).
      runMsSum: 80,
      runMsSqSum: 3200,
    });
    expect(find('hour', 'default', '2026-12-01T10:00:00.000Z')).toMatchObject({ completed: 2, failed: 1 });
    expect(find('hour', 'media', '2026-12-01T10:00:00.000Z')).toEqual({ submitted: 3 });
  });

  it('reports throughput per bucket from stored buckets, whatever their number of jobs', () => {
    const at = new Date('2026-11-22T12:00:30Z');
    const counters = { ...increments({ queue: 'q', type: 't', at, completed: 3 }), r20: 3, w5: 3 };
    const report = throughputReport(
      [
        { bucket: '2026-11-22T12:00:00.000Z', queue: 'q', type: 't', counters },
        { bucket: '2026-11-22T12:00:00.000Z', queue: 'q', type: 't', counters: { dead: 1, failed: 1 } },
      ],
      new Date('2026-11-22T12:00:00Z'),
      new Date('2026-11-22T12:02:00Z'),
      'minute',
    );
    expect(report.buckets).toHaveLength(2);
    expect(report.buckets[0]).toMatchObject({
      completed: 3,
      dead: 1,
      successRate: 0.75,
      jobsPerSecond: 0.05,
    });
    expect(report.totals.runTimeMs.count).toBe(3);
  });
});

describe('cron schedules', () => {
  it('validates cron expressions and time zones', () => {
    expect(() => validateCron('0 9 * * 1-5', 'Europe/Lisbon')).not.toThrow();
    expect(() => validateCron('61 * * * *', 'UTC')).toThrow(InvalidSchedule);
    expect(() => validateCron('0 9 * * *', 'Mars/Base')).toThrow(/IANA/);
  });

  it('computes next runs in the time zone and the latest due occurrence only', () => {
    const runs = nextRuns('0 9 * * *', 'America/New_York', new Date('2026-11-22T12:00:00Z'), 2);
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-11-22T14:00:00.000Z',
      '2026-11-23T14:00:00.000Z',
    ]);
    const due = dueOccurrence(
      '*/5 * * * *',
      'UTC',
      new Date('2026-11-22T12:00:00Z'),
      new Date('2026-11-22T12:17:00Z'),
    );
    expect(due?.toISOString()).toBe('2026-11-22T12:15:00.000Z');
    expect(
      dueOccurrence('0 0 1 1 *', 'UTC', new Date('2026-11-22T12:00:00Z'), new Date('2026-11-22T12:17:00Z')),
    ).toBeUndefined();
    expect(occurrenceKey('s1', due as Date)).toBe('schedule:s1:2026-11-22T12:15:00.000Z');
  });
});

describe('maintenance windows', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('pauses inside the window and resumes after it; a recurring window moves to its next occurrence', () => {
    const once = planWindow(
      { queue: 'reports', durationMinutes: 30, kind: 'inspection', timezone: 'UTC' },
      now,
      'w1',
    );
    expect(windowAction(once, now)).toEqual({ kind: 'pause', occurrence: once.startAt });
    expect(
      windowAction({ ...once, activeOccurrence: once.startAt }, new Date('2026-11-22T12:31:00Z')),
    ).toEqual({ kind: 'resume' });
    const weekly = planWindow(
      { line: 'calibration', cron: '0 3 * * 0', durationMinutes: 60, kind: 'calibration', timezone: 'UTC' },
      now,
      'w2',
    );
    expect(weekly.startAt).toBe('2026-11-29T03:00:00.000Z');
    const after = windowAction(
      { ...weekly, activeOccurrence: weekly.startAt },
      new Date('2026-11-29T04:01:00Z'),
    );
    expect(after).toEqual({
      kind: 'resume',
      next: { startAt: '2026-12-06T03:00:00.000Z', endAt: '2026-12-06T04:00:00.000Z' },
    });
  });
});

describe('rate limits', () => {
  it('spaces start slots a little wider than window / limit', () => {
    expect(slotSpacingMs({ limit: 10, windowMs: 1000 })).toBeCloseTo(105);
  });
});

describe('orders report', () => {
  it('adds completions per hour across robot types and averages assembly time per type', () => {
    const report = ordersReport([
      { bucket: '2026-12-01T10:00:00.000Z', robotType: 'welder', completed: 2, assemblyMsSum: 3_000 },
      { bucket: '2026-12-01T10:00:00.000Z', robotType: 'courier', completed: 1, assemblyMsSum: 500 },
      { bucket: '2026-12-01T09:00:00.000Z', robotType: 'welder', completed: 1, assemblyMsSum: 600 },
    ]);
    expect(report.completedPerHour).toEqual([
      { hour: '2026-12-01T09:00:00.000Z', completed: 1 },
      { hour: '2026-12-01T10:00:00.000Z', completed: 3 },
    ]);
    expect(report.byRobotType).toEqual({
      welder: { completed: 3, meanAssemblyMs: 1_200 },
      courier: { completed: 1, meanAssemblyMs: 500 },
    });
  });
});
