/** SLAs on waiting: the share of waits within the SLA from the buckets' histograms, violations, trend. */
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../functions/domain/histogram.ts';
import {
  countWithin,
  type QueueSla,
  slaOf,
  slaReport,
  slaRequestSchema,
} from '../../functions/domain/sla.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';

const at = new Date('2026-12-01T00:00:00.000Z');
const hour = (n: number) => new Date(at.getTime() + n * 3_600_000).toISOString();
/** An hour bucket with `fast` waits of 100 ms and `slow` waits of 1 s. */
const bucket = (n: number, fast: number, slow: number): StoredBucket => ({
  bucket: hour(n),
  queue: 'reports',
  type: 'generate_report',
  counters: { completed: fast + slow, [`w${bucketOf(100)}`]: fast, [`w${bucketOf(1000)}`]: slow },
});

describe('an SLA', () => {
  it('is set as {waitP95Ms} or {withinMs, percent}: the first is 95% within its time', () => {
    const p95 = slaOf('reports', slaRequestSchema.parse({ waitP95Ms: 2000 }), 'ops', at);
    expect(p95).toMatchObject({ withinMs: 2000, percent: 95, form: 'waitP95Ms' });
    const share = slaOf('reports', slaRequestSchema.parse({ withinMs: 500, percent: 99.5 }), 'ops', at);
    expect(share).toMatchObject({ withinMs: 500, percent: 99.5, form: 'withinMs' });
    for (const bad of [
      {},
      { waitP95Ms: 0 },
      { withinMs: 500 },
      { withinMs: 500, percent: 101 },
      { waitP95Ms: 1, percent: 5 },
    ])
      expect(slaRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });

  it('counts the waits within it: whole buckets below, the bucket it falls in by where it falls (log scale)', () => {
    // 100 ms sits in [90.5, 107.6) ms, 1 s in [861, 1024) ms.
    const waits = { [bucketOf(100)]: 10, [bucketOf(1000)]: 10 };
    expect(countWithin(waits, 500)).toBe(10);
    expect(countWithin(waits, 1024)).toBe(20);
    expect(countWithin(waits, 2 ** (39.5 / 4))).toBeCloseTo(15, 10);
    expect(countWithin(waits, 50)).toBe(0);
    expect(countWithin({ 0: 4 }, 0.5)).toBe(2);
  });

  it('reports compliance over the range, the buckets out of SLA and the trend between the halves', () => {
    const sla: QueueSla = slaOf('reports', { withinMs: 500, percent: 90 }, 'ops', at);
    const report = slaReport(
      sla,
      // Hour 0: every job within 500 ms; hour 1: half of them (two shards of the same hour).
      [bucket(0, 10, 0), bucket(1, 3, 5), bucket(1, 2, 0)],
      { from: at, to: new Date(hour(2)) },
    );
    expect(report.compliance).toEqual({
      jobs: 20,
      withinSla: 15,
      percentWithin: 75,
      met: false,
      waitP95Ms: 939,
    });
    expect(report.violations).toEqual([{ bucket: hour(1), jobs: 10, percentWithin: 50, waitP95Ms: 939 }]);
    expect(report.violationCount).toBe(1);
    expect(report.bucketsJudged).toBe(2);
    expect(report.trend).toEqual({
      firstHalfPercent: 100,
      secondHalfPercent: 50,
      change: -50,
      direction: 'worsening',
    });
    expect(report.sla).toMatchObject({ withinMs: 500, percent: 90 });
  });

  it('says nothing of a range without measured waits, and no trend from a thin half', () => {
    const sla = slaOf('reports', { waitP95Ms: 500 }, 'ops', at);
    const empty = slaReport(sla, [], { from: at, to: new Date(hour(2)) });
    expect(empty.compliance).toMatchObject({ jobs: 0, percentWithin: null, met: null });
    expect(empty.trend.direction).toBe('unknown');
    const thin = slaReport(sla, [bucket(0, 2, 0), bucket(1, 10, 0)], { from: at, to: new Date(hour(2)) });
    expect(thin.trend).toMatchObject({ firstHalfPercent: null, direction: 'unknown' });
    expect(thin.compliance.met).toBe(true);
    expect(thin.sla).toMatchObject({ waitP95Ms: 500 });
  });
});
