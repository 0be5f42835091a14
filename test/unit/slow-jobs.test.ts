import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../functions/domain/histogram.ts';
import { payloadEffectOf, slowJobsReport } from '../../functions/domain/slow-jobs.ts';
import {
  bucketAdditions,
  finestStoredFor,
  type MetricDelta,
  type StoredBucket,
} from '../../functions/domain/throughput.ts';

const from = new Date('2026-12-01T00:00:00Z');
const to = new Date('2026-12-01T10:00:00Z');
const context = {
  from,
  to,
  timeoutOf: (type: string) => ({ resize: 10_000 })[type],
  rateLimited: new Set<string>(),
};

/** The hour buckets the recorder would store for these completions. */
function bucketsOf(deltas: MetricDelta[]): StoredBucket[] {
  return bucketAdditions(deltas)
    .filter((a) => a.granularity === 'hour')
    .map((a) => ({ bucket: a.bucket, queue: a.queue, type: a.type, counters: a.counters }));
}
const done = (hour: number, runMs: number, over: Partial<MetricDelta> = {}): MetricDelta => ({
  queue: 'images',
  type: 'resize',
  at: new Date(from.getTime() + hour * 3_600_000 + 60_000),
  completed: 1,
  runMs,
  waitMs: 100,
  ...over,
});

describe('slow jobs', () => {
  it('takes exact means from the sums, the trend from the halves of the range', () => {
    // Five hours at 1 s, five at 2 s: mean 1.5 s, 100% growth.
    const deltas = [
      ...Array.from({ length: 10 }, (_, i) => done(i % 5, 1000)),
      ...Array.from({ length: 10 }, (_, i) => done(5 + (i % 5), 2000)),
    ];
    const [resize] = slowJobsReport(bucketsOf(deltas), context).types;
    expect(resize).toMatchObject({
      type: 'resize',
      queues: ['images'],
      completed: 20,
      runMs: { mean: 1500 },
      waitMs: { mean: 100 },
      trend: { firstHalfMeanRunMs: 1000, secondHalfMeanRunMs: 2000, change: 1, direction: 'growing' },
    });
    expect(resize?.waitShare).toBe(0.063); // 100 / 1600, to three places
    expect(resize?.suggestions.join(' ')).toContain(
      'mean run time grew 100% over the range (1000 ms → 2000 ms)',
    );
  });

  it('says when p99 comes near the timeout, and when waiting dominates (rate limit or workers)', () => {
    const deltas = Array.from({ length: 20 }, (_, i) => done(i % 10, 9000, { waitMs: 60_000 }));
    const report = slowJobsReport(bucketsOf(deltas), context).types[0];
    const text = report?.suggestions.join('\n') ?? '';
    expect(text).toMatch(/p99 run time \d+ ms is \d+% of the 10 s timeout/);
    expect(text).toContain('GET /analytics/scaling-advice?queue=images');
    const limited = slowJobsReport(bucketsOf(deltas), { ...context, rateLimited: new Set(['images']) })
      .types[0];
    expect(limited?.suggestions.join('\n')).toContain('images is rate limited');
    expect(report?.trend.direction).toBe('steady');
  });

  it('relates run time to payload size: r and ms per KB by least squares', () => {
    // run = 50 + 0.1 ms per byte exactly: r = 1, 102.4 ms per KB.
    const sized = Array.from({ length: 12 }, (_, i) => ({ bytes: 1000 * (i + 1), run: 50 + 100 * (i + 1) }));
    const effect = payloadEffectOf({
      sized: sized.length,
      payloadBytesSum: sized.reduce((a, s) => a + s.bytes, 0),
      payloadBytesSqSum: sized.reduce((a, s) => a + s.bytes ** 2, 0),
      payloadRunSum: sized.reduce((a, s) => a + s.bytes * s.run, 0),
      sizedRunSum: sized.reduce((a, s) => a + s.run, 0),
      sizedRunSqSum: sized.reduce((a, s) => a + s.run ** 2, 0),
    });
    expect(effect).toEqual({ samples: 12, meanBytes: 6500, correlation: 1, msPerKb: 102.4 });
    // Through the buckets, as the recorder writes them.
    const deltas = sized.map((s, i) => done(i % 10, s.run, { payloadBytes: s.bytes }));
    const report = slowJobsReport(bucketsOf(deltas), context).types[0];
    expect(report?.payload).toMatchObject({ samples: 12, correlation: 1, msPerKb: 102.4 });
    expect(report?.suggestions.join('\n')).toContain('run time grows with payload size (r = 1');
    // Same size every time: nothing to relate.
    expect(
      payloadEffectOf({
        sized: 12,
        payloadBytesSum: 12_000,
        payloadBytesSqSum: 12_000_000,
        payloadRunSum: 1,
        sizedRunSum: 1,
        sizedRunSqSum: 1,
      }),
    ).toBeNull();
  });

  it('lists the slowest type first and falls back to histograms for buckets without sums', () => {
    const legacy: StoredBucket = {
      bucket: '2026-12-01T01:00:00.000Z',
      queue: 'default',
      type: 'old',
      counters: { completed: 4, [`r${bucketOf(30_000)}`]: 4 },
    };
    const report = slowJobsReport([...bucketsOf([done(1, 500)]), legacy], context);
    expect(report.types.map((t) => t.type)).toEqual(['old', 'resize']);
    expect(report.types[0]?.runMs.mean).toBeGreaterThan(27_000);
    expect(report.types[0]?.trend.direction).toBe('unknown');
  });
});

describe('the buckets a range is read from', () => {
  const now = new Date('2026-12-04T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);

  it('reads minutes for a short recent range, so a few minutes are not an hour of other jobs', () => {
    expect(finestStoredFor(ago(60_000), now, now)).toBe('minute');
    expect(finestStoredFor(ago(6 * 3_600_000), now, now)).toBe('minute');
  });

  it('reads hours for a long range, or one older than the minute buckets are sure to be kept', () => {
    expect(finestStoredFor(ago(6 * 3_600_000 + 1), now, now)).toBe('hour');
    expect(finestStoredFor(ago(30 * 3_600_000), ago(28 * 3_600_000), now)).toBe('hour');
  });
});
