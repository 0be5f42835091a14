/**
 * GET /analytics/errors: the error classes failed attempts fell into, the most frequent first,
 * over time — from the metric buckets, where the analytics recorder counts each failed attempt
 * under its class (`x_<id>`, its text kept once beside it; domain/error-classes.ts makes the
 * classes, the same as GET /dlq/causes and the adaptive retry policy). A bucket item keeps at
 * most maxErrorClassesPerBucket classes; the failures of further classes count as "other".
 */
import { errorCounterPrefix, otherErrors, type StoredBucket } from './throughput.ts';

interface ClassTally {
  failures: number;
  label: string | undefined;
  queues: Set<string>;
  types: Set<string>;
  series: Map<string, number>;
  halves: [number, number];
}

export interface ErrorPatternOptions {
  readonly from: Date;
  readonly to: Date;
  /** The series' step: each bucket is folded into the start of its hour or day. */
  readonly step: 'hour' | 'day';
  readonly top: number;
}

const stepMs = { hour: 3_600_000, day: 86_400_000 } as const;

/** A class's direction: the range's second half against its first (needs 5 failures in all). */
function trendOf([first, second]: [number, number]): 'rising' | 'falling' | 'steady' | 'unknown' {
  if (first + second < 5) return 'unknown';
  if (second >= 1.5 * first + 1) return 'rising';
  if (first >= 1.5 * second + 1) return 'falling';
  return 'steady';
}

export function errorPatterns(buckets: readonly StoredBucket[], options: ErrorPatternOptions) {
  const classes = new Map<string, ClassTally>();
  const middle = (options.from.getTime() + options.to.getTime()) / 2;
  let failures = 0;
  let classified = 0;
  let other = 0;
  for (const b of buckets) {
    failures += b.counters.failed ?? 0;
    other += b.counters[otherErrors] ?? 0;
    const at = Date.parse(b.bucket);
    const step = new Date(Math.floor(at / stepMs[options.step]) * stepMs[options.step]).toISOString();
    for (const [name, count] of Object.entries(b.counters)) {
      if (!name.startsWith(errorCounterPrefix) || name === otherErrors || !count) continue;
      const id = name.slice(errorCounterPrefix.length);
      const tally = classes.get(id) ?? {
        failures: 0,
        label: undefined,
        queues: new Set<string>(),
        types: new Set<string>(),
        series: new Map<string, number>(),
        halves: [0, 0],
      };
      tally.failures += count;
      tally.label ??= b.errorClasses?.[id];
      tally.queues.add(b.queue);
      tally.types.add(b.type);
      tally.series.set(step, (tally.series.get(step) ?? 0) + count);
      tally.halves[at < middle ? 0 : 1] += count;
      classes.set(id, tally);
      classified += count;
    }
  }
  const ranked = [...classes.entries()].sort(
    ([a, x], [b, y]) => y.failures - x.failures || a.localeCompare(b),
  );
  const share = (n: number) => (failures ? Number((n / failures).toFixed(4)) : null);
  const series = (s: Map<string, number>) =>
    [...s.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([bucket, count]) => ({ bucket, failures: count }));
  return {
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    step: options.step,
    failedAttempts: failures,
    classified,
    /** Failures of classes past a bucket's bound, and failed attempts counted before classes were. */
    unclassified: Math.max(0, failures - classified),
    overflowed: other,
    distinctClasses: classes.size,
    classes: ranked.slice(0, options.top).map(([id, t]) => ({
      classId: id,
      errorClass: t.label ?? '(text not kept)',
      failures: t.failures,
      share: share(t.failures),
      queues: [...t.queues].sort(),
      types: [...t.types].sort(),
      firstSeen: series(t.series)[0]?.bucket ?? null,
      lastSeen: series(t.series).at(-1)?.bucket ?? null,
      trend: trendOf(t.halves),
      series: series(t.series),
    })),
  };
}
