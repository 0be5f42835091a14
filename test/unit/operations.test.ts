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
  defaultAutoscalePolicy,
  describeMode,
  type LastScaling,
  type RecentWork,
  recentWork,
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

  describe('scaling out only while it pays', () => {
    const bounds = { min: 6, max: 60 };
    const now = Date.parse('2026-12-06T12:00:30Z');
    const ago = (ms: number) => new Date(now - ms).toISOString();
    const minuteBucket = (start: string, counters: Record<string, number>) => ({
      bucket: start,
      queue: 'default',
      type: 'delayed_message',
      counters,
    });
    /** A minute of work at `perS` completions a second (short jobs unless said). */
    const work = (perS: number, more: Partial<RecentWork> = {}): RecentWork => ({
      completedPerS: perS,
      completed: Math.round(perS * 60),
      meanRunMs: 5,
      seconds: 60,
      ...more,
    });
    const out = (
      current: number,
      depth: number,
      recent: RecentWork | null,
      events: LastScaling[] = [],
      at = now,
      oldestWaitingMs: number | null = null,
    ) =>
      autoscale(current, { depth, inFlight: 0, oldestWaitingMs }, bounds, defaultAutoscalePolicy, {
        now: at,
        work: recent,
        events,
      });
    const step: LastScaling = { at: ago(60_000), from: 12, to: 24, source: 'autoscaler', rate: 330 };

    it('measures the completions of the last minute, or of the current one alone when a backlog just arrived', () => {
      // 30 s into the minute: the minute before counts for half; failed attempts are not work done.
      const steady = [
        minuteBucket('2026-12-06T12:00:00.000Z', { completed: 2400, failed: 600, runMsSum: 12_000 }),
        minuteBucket('2026-12-06T12:00:00.000Z', { completed: 600, runMsSum: 3000 }),
        minuteBucket('2026-12-06T11:59:00.000Z', { completed: 6000, runMsSum: 30_000 }),
      ];
      expect(recentWork(steady, now)).toEqual({
        completedPerS: 100,
        completed: 6000,
        meanRunMs: 5,
        seconds: 60,
      });
      // An idle minute before a backlog: the current minute's 30 s alone.
      expect(recentWork([minuteBucket('2026-12-06T12:00:00.000Z', { completed: 4500 })], now)).toEqual({
        completedPerS: 150,
        completed: 4500,
        meanRunMs: null,
        seconds: 30,
      });
      // 10 s into a minute is too short to stand alone: 600 over the last minute.
      expect(
        recentWork(
          [minuteBucket('2026-12-06T12:00:00.000Z', { completed: 600 })],
          Date.parse('2026-12-06T12:00:10Z'),
        )?.completedPerS,
      ).toBe(10);
      // Older buckets, and failures alone, measure nothing.
      expect(recentWork([minuteBucket('2026-12-06T11:58:00.000Z', { completed: 900 })], now)).toBeNull();
      expect(recentWork([minuteBucket('2026-12-06T12:00:00.000Z', { failed: 900 })], now)).toBeNull();
      expect(recentWork([], now)).toBeNull();
    });

    it('adds no workers for a backlog the workers clear within a minute, unless a job waits too long', () => {
      expect(out(12, 5000, work(100))).toMatchObject({
        desired: 12,
        reason: expect.stringMatching(/the 5000 waiting clear within 60 s at 100\/s: no more workers/),
      });
      expect(out(12, 6001, work(100)).desired).toBe(24);
      // A backlog that grows all the same soon has a job waiting past 30 s: that steps out…
      expect(out(12, 5000, work(100), [], now, 31_000).desired).toBe(24);
      const aged = (previous: { at: string; depth: number }) =>
        autoscale(12, { depth: 5000, inFlight: 0, oldestWaitingMs: 90_000 }, bounds, defaultAutoscalePolicy, {
          now,
          work: work(100),
          events: [],
          previous,
        }).desired;
      expect(aged({ at: ago(60_000), depth: 4000 })).toBe(24);
      // …unless it shrank since the last tick fast enough to be gone within the minute (6,000 in
      // 60 s: the 5,000 left take 50 s), a drain whose first jobs waited from its start.
      expect(aged({ at: ago(60_000), depth: 11_000 })).toBe(12);
      // Holding its size (arrivals matching completions), or shrinking slower, is no drain.
      expect(aged({ at: ago(60_000), depth: 5010 })).toBe(24);
      expect(aged({ at: ago(60_000), depth: 9000 })).toBe(24);
      // A reading of another time says nothing of the trend.
      expect(aged({ at: ago(105_000), depth: 20_000 })).toBe(24);
      expect(aged({ at: ago(10 * 60_000), depth: 11_000 })).toBe(24);
      // Nothing measured (a new queue, a stalled one, a failed read): target tracking steps out.
      expect(out(12, 5000, null).desired).toBe(24);
      expect(out(12, 25, work(0.5)).reason).toMatch(/the 25 waiting clear within 60 s at 30\/min/);
    });

    it('reads a backlog younger than the minute at the rate since it arrived, and judges no step it takes', () => {
      // 10,000 arrived 24 s ago; 6,000 done since: 250/s, so the other 4,000 clear within the minute.
      const young = out(12, 4000, work(100, { completed: 6000 }), [], now, 24_000);
      expect(young).toMatchObject({
        desired: 12,
        reason: expect.stringMatching(/clear within 60 s at 250\/s/),
      });
      // Younger than 20 s: over 20 s (completions before it would weigh too much).
      expect(out(12, 8000, work(50, { completed: 3000 }), [], now, 10_000).reason).toMatch(/at 150\/s/);
      expect(out(12, 40, work(0.1, { completed: 6 }), [], now, 2000).desired).toBe(20);
      // A step out from a young backlog has no rate to be judged against; a steady one has.
      const early = out(12, 31_000, work(50, { completed: 3000 }), [], now, 12_000);
      expect(early).toMatchObject({ desired: 24 });
      expect(early.rate).toBeUndefined();
      expect(out(12, 31_000, work(250), [], now, 90_000)).toMatchObject({ desired: 24, rate: 250 });
      expect(out(12, 31_000, work(250)).rate).toBe(250);
    });

    it('at most doubles a tick, within the bounds', () => {
      expect(out(12, 10_000, work(50))).toMatchObject({
        desired: 24,
        reason: expect.stringMatching(/at most ×2 per tick/),
      });
      expect(out(40, 10_000, work(50)).desired).toBe(60);
      // What the backlog asks for when that is less than double.
      expect(out(12, 40, work(0.1)).desired).toBe(20);
    });

    it('undoes a step out that did not raise the rate, and holds below it for ten minutes', () => {
      const undone = out(24, 8000, work(280), [step]);
      expect(undone).toMatchObject({
        desired: 12,
        ceiling: 12,
        holdUntil: '2026-12-06T12:10:30.000Z',
        reason:
          'undoing the step out 12 → 24 of 11:59 UTC: the rate went from 330/s to 280/s, not the 413/s it needed; back to 12, no higher until 12:10 UTC',
      });
      // A quarter of the proportional gain is enough to go on (412.5/s for a doubling from 330/s).
      expect(out(24, 50_000, work(412.5), [step]).desired).toBe(48);
      expect(out(24, 50_000, work(412.4), [step]).desired).toBe(12);
      // Held: the next ticks stay at 12 while the backlog lasts; after ten minutes a step again.
      const hold: LastScaling = {
        at: ago(0),
        from: 24,
        to: 12,
        source: 'autoscaler',
        rate: 280,
        ceiling: 12,
        holdUntil: undone.holdUntil,
      };
      expect(out(12, 50_000, work(330), [hold, step], now + 60_000)).toMatchObject({
        desired: 12,
        reason: expect.stringMatching(/held at 12: more workers did not raise the rate \(until 12:10 UTC\)$/),
      });
      expect(out(12, 50_000, work(330), [hold, step], now + 11 * 60_000).desired).toBe(24);
      // Below the cap, steps still go up to it.
      expect(out(6, 50_000, work(100), [hold, step], now + 60_000).desired).toBe(12);
      // The way down is not held back, nor judged.
      expect(
        autoscale(12, { depth: 0, inFlight: 4, oldestWaitingMs: null }, bounds, defaultAutoscalePolicy, {
          now: now + 60_000,
          work: work(330),
          events: [hold, step],
        }).desired,
      ).toBe(6);
      const down = autoscale(
        40,
        { depth: 4, inFlight: 4, oldestWaitingMs: null },
        bounds,
        defaultAutoscalePolicy,
        { now, work: work(100), events: [{ ...step, from: 20, to: 40 }] },
      );
      expect(down).toEqual({
        desired: 20,
        reason: expect.stringMatching(/scaling down at most by half per tick$/),
      });
    });

    it('judges a step to the top, and undoes a step within bounds raised since', () => {
      const top: LastScaling = { at: ago(60_000), from: 30, to: 60, source: 'autoscaler', rate: 330 };
      expect(out(60, 50_000, work(300), [top])).toMatchObject({ desired: 30, ceiling: 30 });
      const raised = autoscale(
        24,
        { depth: 50_000, inFlight: 0, oldestWaitingMs: null },
        { min: 16, max: 60 },
        defaultAutoscalePolicy,
        { now, work: work(280), events: [step] },
      );
      expect(raised).toMatchObject({
        desired: 16,
        ceiling: 16,
        reason: expect.stringMatching(/back to 16,/),
      });
    });

    it('judges a step once, at the next tick, and waits for it rather than stepping again', () => {
      expect(out(24, 50_000, work(280), [{ ...step, at: ago(30_000) }])).toMatchObject({
        desired: 24,
        reason: expect.stringMatching(/waiting to judge the step out 12 → 24 of 12:00 UTC$/),
      });
      expect(out(24, 50_000, work(280), [{ ...step, at: ago(45_000) }]).desired).toBe(12);
      expect(out(24, 50_000, work(280), [{ ...step, at: ago(104_000) }]).desired).toBe(12);
      // The tick after the one that judged it measures another minute: not the step's.
      expect(out(24, 50_000, work(280), [{ ...step, at: ago(105_000) }]).desired).toBe(48);
    });

    it('judges only what a minute can show: enough completions, short jobs, its own step', () => {
      // Too few completions before the step or after it: noise.
      expect(out(24, 50_000, work(280, { completed: 29 }), [step]).desired).toBe(48);
      expect(out(24, 50_000, work(0.4), [{ ...step, rate: 0.4 }]).desired).toBe(48);
      expect(out(24, 50_000, work(0.4), [{ ...step, rate: 0.4, at: ago(30_000) }]).desired).toBe(48);
      // Jobs of a minute: new workers finish nothing within the next tick.
      expect(out(24, 50_000, work(2, { meanRunMs: 60_000 }), [step]).desired).toBe(48);
      expect(out(24, 50_000, work(2, { meanRunMs: 60_000 }), [{ ...step, at: ago(30_000) }]).desired).toBe(
        48,
      );
      // Nothing measured since, or before.
      expect(out(24, 50_000, null, [step]).desired).toBe(48);
      expect(out(24, 50_000, work(280), [{ ...step, rate: undefined }]).desired).toBe(48);
      // Someone set another level since: not the step's to judge.
      expect(out(30, 50_000, work(280), [step]).desired).toBe(60);
      // An operator's change after the step, or after a hold, is a new start.
      const manual: LastScaling = { at: ago(30_000), from: 24, to: 24, source: 'manual' };
      expect(out(24, 50_000, work(280), [manual, step]).desired).toBe(48);
      const hold: LastScaling = {
        at: ago(120_000),
        from: 24,
        to: 12,
        source: 'autoscaler',
        ceiling: 12,
        holdUntil: new Date(now + 60_000).toISOString(),
      };
      expect(out(12, 50_000, work(330), [{ ...manual, from: 12, to: 12 }, hold]).desired).toBe(24);
    });
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
