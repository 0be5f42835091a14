/**
 * The month of history `npm run seed-history` writes (localstack/seed/history.ts): its shape as
 * the analytics will read it — every queue, a daily and a weekly rhythm, waits that miss an SLA
 * at the peaks, retries and error classes — and finished job rows the failure model trains on.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type FailureModel, retrainFailureModel } from '../../functions/domain/failure-prediction.ts';
import { allQueueNames, jobQueueNames } from '../../functions/domain/job-queues.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { slaReport } from '../../functions/domain/sla.ts';
import {
  bucketAdditions,
  bucketStart,
  type MetricDelta,
  type StoredBucket,
} from '../../functions/domain/throughput.ts';
import { type HistoryDay, historyDays, type SeededRow } from '../../localstack/seed/history.ts';

const now = new Date('2026-12-04T10:30:00.000Z');
const dayMs = 86_400_000;
let days: HistoryDay[] = [];
let deltas: MetricDelta[] = [];
let rows: SeededRow[] = [];
let hourBuckets: StoredBucket[] = [];

beforeAll(() => {
  // Prepare
  days = [...historyDays({ now, days: 30, seed: 7 })];
  deltas = days.flatMap((d) => d.deltas);
  rows = days.flatMap((d) => d.rows);
  hourBuckets = bucketAdditions(deltas)
    .filter((a) => a.granularity === 'hour')
    .map((a) => ({ bucket: a.bucket, queue: a.queue, type: a.type, counters: a.counters }));
});

/** Jobs submitted per key: the deltas' submissions and the rows (whose submission the recorder counts). */
function submissions(key: (at: Date, queue: string) => string | undefined): Map<string, number> {
  const counted = new Map<string, number>();
  const add = (at: Date, queue: string) => {
    const k = key(at, queue);
    if (k !== undefined) counted.set(k, (counted.get(k) ?? 0) + 1);
  };
  for (const d of deltas) if (d.submitted) add(d.at, d.queue);
  for (const r of rows) add(new Date(r.createdAt), r.queue);
  return counted;
}

describe('npm run seed-history: the generated month', () => {
  it('covers 30 days of every queue, and ends before now', () => {
    // Act
    const perQueue = submissions((_at, queue) => queue);
    const times = deltas.map((d) => d.at.getTime());

    // Assess
    expect(days).toHaveLength(31);
    for (const queue of allQueueNames) expect(perQueue.get(queue), queue).toBeGreaterThan(300);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(now.getTime() - 30 * dayMs - 3_600_000);
    expect(Math.max(...times)).toBeLessThan(now.getTime());
    const total = [...perQueue.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(days.reduce((sum, d) => sum + d.jobs, 0));
  });

  it('has a daily and a weekly rhythm', () => {
    // Act
    const byHour = submissions((at, queue) =>
      queue === 'notifications' ? String(at.getUTCHours()) : undefined,
    );
    const byWeekday = submissions((at) => (at.getUTCDay() % 6 === 0 ? 'weekend' : 'weekday'));
    const hours = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => byHour.get(String(from + i)) ?? 0).reduce(
        (a, b) => a + b,
        0,
      ) /
      (to - from);

    // Assess: working hours over three times the night; a weekend day at under half a weekday.
    expect(hours(9, 17)).toBeGreaterThan(3 * hours(1, 5));
    const weekendDays = days.filter((d) => new Date(d.day).getUTCDay() % 6 === 0).length;
    const perWeekendDay = (byWeekday.get('weekend') ?? 0) / weekendDays;
    const perWeekday = (byWeekday.get('weekday') ?? 0) / (days.length - weekendDays);
    expect(perWeekendDay).toBeLessThan(0.6 * perWeekday);
  });

  it('records attempts as the analytics recorder does: numbers, retries, backoff and error classes', () => {
    // Act
    const completed = deltas.filter((d) => d.completed);
    const failed = deltas.filter((d) => d.failed && d.attempt !== undefined);
    const classes = new Set(failed.map((d) => d.errorClass?.label));

    // Assess
    expect(completed.every((d) => d.attempt && d.runMs !== undefined && d.waitMs !== undefined)).toBe(true);
    expect(completed.filter((d) => (d.attempt ?? 0) > 1).length).toBeGreaterThan(100);
    expect(failed.every((d) => d.errorClass && d.failedRunMs !== undefined)).toBe(true);
    expect(failed.filter((d) => d.retryDelayMs !== undefined).length).toBeGreaterThan(1000);
    expect(classes).toContain('Webhook <url> answered <n>: Service Unavailable');
    expect(classes).toContain('Calibration drift <n> mm exceeds the <n> mm tolerance on rig <n>');
    expect(classes.size).toBeGreaterThanOrEqual(10);
    expect(deltas.filter((d) => d.dead).length).toBeGreaterThan(500);
  });

  it('waits within a 3 s SLA most of the month and misses it at the peaks', () => {
    // Act
    const report = slaReport(
      {
        queue: 'notifications',
        withinMs: 3000,
        percent: 95,
        form: 'withinMs',
        updatedAt: now.toISOString(),
        updatedBy: 'test',
      },
      hourBuckets.filter((b) => b.queue === 'notifications'),
      { from: new Date(now.getTime() - 30 * dayMs), to: now },
    );

    // Assess
    expect(report.compliance.percentWithin).toBeGreaterThan(95);
    expect(report.compliance.percentWithin).toBeLessThan(99.5);
    const violatedHours = report.violations.map((v) => new Date(v.bucket).getUTCHours());
    expect(violatedHours.length).toBeGreaterThan(10);
    expect(violatedHours.filter((h) => h >= 8 && h < 18).length).toBeGreaterThan(0.8 * violatedHours.length);
  });

  it('makes the finished rows the job store keeps: the last week, and the dead of the month', () => {
    // Assess
    expect(rows.length).toBeGreaterThan(4000);
    for (const row of rows) {
      expect(row.queueStatus).toBe(`${row.queue}#${row.status}`);
      expect(jobQueueNames as readonly string[]).toContain(row.queue);
      expect(row.expiresAt * 1000).toBeGreaterThan(now.getTime());
      const created = Date.parse(row.createdAt);
      if (row.status === 'COMPLETED') expect(created).toBeGreaterThanOrEqual(now.getTime() - 7 * dayMs);
      else {
        expect(row.status).toBe('DEAD');
        expect(row.lastError).toEqual(expect.any(String));
        expect(row.failures?.length).toBeGreaterThan(0);
      }
    }
    expect(
      rows.some((r) => r.status === 'DEAD' && Date.parse(r.createdAt) < now.getTime() - 20 * dayMs),
    ).toBe(true);
  });

  it('gives the hourly trainer enough rows for a model better than the majority class', async () => {
    // Prepare: the trainer's own path, on in-memory fakes of the jobs table and the buckets.
    let saved: FailureModel | undefined;
    const ports = {
      queues: jobQueueNames,
      newestFinished: async (queue: string, status: string, from: string, to: string, limit: number) =>
        rows
          .filter((r) => r.queue === queue && r.status === status && r.createdAt >= from && r.createdAt < to)
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
          .slice(0, limit) as JobRecord[],
      hourBuckets: async (queue: string, from: Date, to: Date) =>
        hourBuckets.filter(
          (b) =>
            b.queue === queue && b.bucket >= bucketStart(from, 'hour') && Date.parse(b.bucket) < to.getTime(),
        ),
      save: async (model: FailureModel) => {
        saved = model;
      },
    };

    // Act
    const outcome = await retrainFailureModel(ports, now);

    // Assess
    expect(outcome.trained).toBe(true);
    expect(saved?.samples).toBeGreaterThan(2000);
    expect(saved?.quality.accuracy).toBeGreaterThan(0.85);
    expect(saved?.quality.accuracy).toBeGreaterThan(saved?.quality.baselineAccuracy ?? 1);
  });

  it('is the same history for the same seed', () => {
    // Act
    const again = historyDays({ now, days: 30, seed: 7 }).next().value as HistoryDay;
    const other = historyDays({ now, days: 30, seed: 8 }).next().value as HistoryDay;

    // Assess
    expect(again).toEqual(days[0]);
    expect(other.deltas).not.toEqual(days[0]?.deltas);
  });
});
