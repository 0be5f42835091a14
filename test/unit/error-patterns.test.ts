/** Error patterns: the top error classes over time, from the classes the buckets count. */
import { describe, expect, it } from 'vitest';
import { errorPatterns } from '../../functions/domain/error-patterns.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';

const from = new Date('2026-12-01T00:00:00.000Z');
const to = new Date('2026-12-01T04:00:00.000Z');
const at = (h: number, m = 0) => new Date(from.getTime() + h * 3_600_000 + m * 60_000).toISOString();
const bucket = (
  bucketAt: string,
  counters: Record<string, number>,
  errorClasses: Record<string, string>,
  type = 'webhook_call',
): StoredBucket => ({ bucket: bucketAt, queue: 'default', type, counters, errorClasses });

describe('error patterns', () => {
  const buckets = [
    // Hour 0: the partner's 503s; the timeout once.
    bucket(
      at(0),
      { failed: 5, x_a: 4, x_b: 1 },
      { a: 'partner answered HTTP <n>', b: 'timed out after <n> ms' },
    ),
    // Hour 2 (two minute buckets of it, another type): the timeouts take over; one class past the bound.
    bucket(at(2, 5), { failed: 3, x_b: 3 }, { b: 'timed out after <n> ms' }, 'send_email'),
    bucket(at(2, 6), { failed: 5, x_b: 4, x_other: 1 }, { b: 'timed out after <n> ms' }),
    // Counted before error classes were: failures without a class.
    bucket(at(3), { failed: 2 }, {}),
  ];

  it('ranks the classes by failed attempts, with their share, where and when they were seen', () => {
    const report = errorPatterns(buckets, { from, to, step: 'hour', top: 10 });
    expect(report).toMatchObject({ failedAttempts: 15, classified: 12, unclassified: 3, overflowed: 1 });
    expect(report.classes.map((c) => [c.errorClass, c.failures, c.share])).toEqual([
      ['timed out after <n> ms', 8, 0.5333],
      ['partner answered HTTP <n>', 4, 0.2667],
    ]);
    const [timeouts] = report.classes;
    expect(timeouts).toMatchObject({
      types: ['send_email', 'webhook_call'],
      queues: ['default'],
      firstSeen: at(0),
      lastSeen: at(2),
      trend: 'rising',
    });
    // Minute buckets fold into their hour.
    expect(timeouts?.series).toEqual([
      { bucket: at(0), failures: 1 },
      { bucket: at(2), failures: 7 },
    ]);
    expect(report.classes[1]?.trend).toBe('unknown');
  });

  it('folds into days and keeps the top N', () => {
    const report = errorPatterns(buckets, { from, to, step: 'day', top: 1 });
    expect(report.classes).toHaveLength(1);
    expect(report.distinctClasses).toBe(2);
    expect(report.classes[0]?.series).toEqual([{ bucket: from.toISOString(), failures: 8 }]);
  });
});
