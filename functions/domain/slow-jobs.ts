/**
 * GET /analytics/slow-jobs: per job type, how long its jobs run and wait, whether that is
 * growing, and what the data suggests — from the metric buckets alone (their run and wait
 * histograms and exact sums, domain/throughput.ts; minutes for a range of up to six hours, hours
 * beyond), so the cost does not grow with the jobs.
 *
 * - mean from the exact sums, percentiles from the histograms (±9%);
 * - trend: the mean run time of the range's second half against its first;
 * - wait share: mean wait / (mean wait + mean run), from due time to start;
 * - payload size: Pearson's r between payload bytes and run time, and the least-squares slope
 *   (ms per KB), from the sums Σx, Σy, Σxy, Σx², Σy² the buckets keep.
 */
import { type Histogram, merge, percentile, total } from './histogram.ts';
import type { StoredBucket } from './throughput.ts';

export interface SlowJobsContext {
  readonly from: Date;
  readonly to: Date;
  /** A type's default attempt timeout (its plugin's `defaults.timeoutMs`). */
  readonly timeoutOf: (type: string) => number | undefined;
  /** Queues with a rate limit set (PUT /queues/{queue}/rate-limit). */
  readonly rateLimited: ReadonlySet<string>;
}

interface Sums {
  completed: number;
  failed: number;
  run: Histogram;
  wait: Histogram;
  runMsSum: number;
  /** Runs whose bucket keeps the exact sum (older buckets have only the histogram). */
  summedRuns: number;
  runMsSqSum: number;
  waitMsSum: number;
  waited: number;
  /** Completions with a payload size (the regression's n). */
  sized: number;
  payloadBytesSum: number;
  payloadBytesSqSum: number;
  payloadRunSum: number;
  sizedRunSum: number;
  sizedRunSqSum: number;
}

const emptySums = (): Sums => ({
  completed: 0,
  failed: 0,
  run: {},
  wait: {},
  runMsSum: 0,
  summedRuns: 0,
  runMsSqSum: 0,
  waitMsSum: 0,
  waited: 0,
  sized: 0,
  payloadBytesSum: 0,
  payloadBytesSqSum: 0,
  payloadRunSum: 0,
  sizedRunSum: 0,
  sizedRunSqSum: 0,
});

function addBucket(into: Sums, counters: Record<string, number>): void {
  const run: Histogram = {};
  const wait: Histogram = {};
  for (const [key, value] of Object.entries(counters)) {
    if (/^r\d+$/.test(key)) run[Number(key.slice(1))] = value;
    else if (/^w\d+$/.test(key)) wait[Number(key.slice(1))] = value;
  }
  merge(into.run, run);
  merge(into.wait, wait);
  into.completed += counters.completed ?? 0;
  into.failed += counters.failed ?? 0;
  into.runMsSum += counters.runMsSum ?? 0;
  if (counters.runMsSum !== undefined) into.summedRuns += total(run);
  into.runMsSqSum += counters.runMsSqSum ?? 0;
  into.waitMsSum += counters.waitMsSum ?? 0;
  if (counters.waitMsSum !== undefined) into.waited += total(wait);
  if (counters.payloadBytesSum !== undefined) {
    // A bucket with payload sums has them for each run it counts.
    into.sized += total(run);
    into.payloadBytesSum += counters.payloadBytesSum;
    into.payloadBytesSqSum += counters.payloadBytesSqSum ?? 0;
    into.payloadRunSum += counters.payloadRunSum ?? 0;
    into.sizedRunSum += counters.runMsSum ?? 0;
    into.sizedRunSqSum += counters.runMsSqSum ?? 0;
  }
}

/** The mean run time of a set of buckets: exact where the sums are kept. */
const meanRunMs = (s: Sums): number | null => {
  if (total(s.run) === 0) return null;
  return s.summedRuns > 0 ? s.runMsSum / s.summedRuns : percentile(s.run, 50);
};

export interface PayloadEffect {
  readonly samples: number;
  readonly meanBytes: number;
  /** Pearson's r between payload size and run time. */
  readonly correlation: number;
  /** Least-squares slope: extra run time per KB of payload. */
  readonly msPerKb: number;
}

export type PayloadSums = Pick<
  Sums,
  'sized' | 'payloadBytesSum' | 'payloadBytesSqSum' | 'payloadRunSum' | 'sizedRunSum' | 'sizedRunSqSum'
>;

export function payloadEffectOf(s: PayloadSums): PayloadEffect | null {
  const n = s.sized;
  if (n < 10) return null;
  const sxy = n * s.payloadRunSum - s.payloadBytesSum * s.sizedRunSum;
  const sxx = n * s.payloadBytesSqSum - s.payloadBytesSum ** 2;
  const syy = n * s.sizedRunSqSum - s.sizedRunSum ** 2;
  // All payloads the same size (or all runs the same length): nothing to relate.
  if (sxx <= 0 || syy <= 0) return null;
  return {
    samples: n,
    meanBytes: Math.round(s.payloadBytesSum / n),
    correlation: round(sxy / Math.sqrt(sxx * syy), 3),
    msPerKb: round((sxy / sxx) * 1024, 2),
  };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const seconds = (ms: number) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)} ms`);

export interface SlowJobType {
  readonly type: string;
  readonly queues: readonly string[];
  readonly completed: number;
  readonly failed: number;
  /** Failed attempts / (completed + failed attempts). */
  readonly failureRate: number | null;
  readonly runMs: {
    readonly mean: number | null;
    readonly p50: number | null;
    readonly p95: number | null;
    readonly p99: number | null;
  };
  readonly waitMs: { readonly mean: number | null; readonly p95: number | null };
  /** The share of a job's time spent waiting to start (0–1). */
  readonly waitShare: number | null;
  readonly trend: {
    readonly firstHalfMeanRunMs: number | null;
    readonly secondHalfMeanRunMs: number | null;
    /** Relative change of the mean run time (0.35 = 35% slower). */
    readonly change: number | null;
    readonly direction: 'growing' | 'shrinking' | 'steady' | 'unknown';
  };
  readonly timeoutMs: number | null;
  readonly payload: PayloadEffect | null;
  readonly suggestions: readonly string[];
}

export interface SlowJobsReport {
  readonly from: string;
  readonly to: string;
  /** Slowest first (p95 run time). */
  readonly types: readonly SlowJobType[];
}

/** Fewer runs than this in a half of the range: no trend is claimed. */
const minTrendSamples = 5;

export function slowJobsReport(buckets: readonly StoredBucket[], context: SlowJobsContext): SlowJobsReport {
  const middle = (context.from.getTime() + context.to.getTime()) / 2;
  const byType = new Map<string, { all: Sums; first: Sums; second: Sums; queues: Set<string> }>();
  for (const b of buckets) {
    const entry = byType.get(b.type) ?? {
      all: emptySums(),
      first: emptySums(),
      second: emptySums(),
      queues: new Set<string>(),
    };
    entry.queues.add(b.queue);
    addBucket(entry.all, b.counters);
    addBucket(Date.parse(b.bucket) < middle ? entry.first : entry.second, b.counters);
    byType.set(b.type, entry);
  }
  const types = [...byType.entries()]
    .map(([type, { all, first, second, queues }]) =>
      typeReport(type, all, first, second, [...queues].sort(), context),
    )
    .filter((t) => t.completed + t.failed > 0)
    .sort((a, b) => (b.runMs.p95 ?? -1) - (a.runMs.p95 ?? -1) || a.type.localeCompare(b.type));
  return { from: context.from.toISOString(), to: context.to.toISOString(), types };
}

function typeReport(
  type: string,
  all: Sums,
  first: Sums,
  second: Sums,
  queues: string[],
  context: SlowJobsContext,
): SlowJobType {
  const mean = meanRunMs(all);
  const waitMean = all.waited > 0 ? all.waitMsSum / all.waited : percentile(all.wait, 50);
  const p99 = percentile(all.run, 99);
  const attempts = all.completed + all.failed;
  const failureRate = attempts ? round(all.failed / attempts, 4) : null;
  const waitShare =
    mean !== null && waitMean !== null && mean + waitMean > 0 ? round(waitMean / (mean + waitMean), 3) : null;
  const firstMean = total(first.run) >= minTrendSamples ? meanRunMs(first) : null;
  const secondMean = total(second.run) >= minTrendSamples ? meanRunMs(second) : null;
  const change = firstMean && secondMean !== null ? round(secondMean / firstMean - 1, 3) : null;
  const direction =
    change === null ? 'unknown' : change > 0.2 ? 'growing' : change < -0.2 ? 'shrinking' : 'steady';
  const timeoutMs = context.timeoutOf(type) ?? null;
  const payload = payloadEffectOf(all);

  const suggestions: string[] = [];
  if (timeoutMs && p99 !== null && p99 >= 0.8 * timeoutMs)
    suggestions.push(
      `p99 run time ${seconds(p99)} is ${Math.round((p99 / timeoutMs) * 100)}% of the ${seconds(timeoutMs)} timeout: attempts near it will time out — raise timeoutMs or make the slow cases faster`,
    );
  if (direction === 'growing' && firstMean !== null && secondMean !== null)
    suggestions.push(
      `mean run time grew ${Math.round((change ?? 0) * 100)}% over the range (${seconds(firstMean)} → ${seconds(secondMean)}): look at what changed (payloads, a dependency, the code)`,
    );
  if (payload && payload.correlation >= 0.5 && payload.msPerKb > 0)
    suggestions.push(
      `run time grows with payload size (r = ${payload.correlation}, about ${payload.msPerKb} ms per KB): split large payloads into smaller jobs, or give large ones a longer timeout`,
    );
  if (waitShare !== null && waitShare >= 0.5) {
    const limited = queues.filter((q) => context.rateLimited.has(q));
    suggestions.push(
      limited.length > 0
        ? `jobs spend ${Math.round(waitShare * 100)}% of their time waiting to start, and ${limited.join(', ')} ${limited.length > 1 ? 'are' : 'is'} rate limited: the limit sets the pace — raise it if the downstream allows`
        : `jobs spend ${Math.round(waitShare * 100)}% of their time waiting to start: add workers (GET /analytics/scaling-advice?queue=${queues[0]})`,
    );
  }
  if (failureRate !== null && failureRate >= 0.2)
    suggestions.push(
      `${Math.round(failureRate * 100)}% of attempts fail, and each failure is run time spent again: see GET /dlq/causes, and the adaptive retry policy stops retrying what does not recover`,
    );

  return {
    type,
    queues,
    completed: all.completed,
    failed: all.failed,
    failureRate,
    runMs: {
      mean: mean === null ? null : Math.round(mean),
      p50: percentile(all.run, 50),
      p95: percentile(all.run, 95),
      p99,
    },
    waitMs: { mean: waitMean === null ? null : Math.round(waitMean), p95: percentile(all.wait, 95) },
    waitShare,
    trend: {
      firstHalfMeanRunMs: firstMean === null ? null : Math.round(firstMean),
      secondHalfMeanRunMs: secondMean === null ? null : Math.round(secondMean),
      change,
      direction,
    },
    timeoutMs,
    payload,
    suggestions,
  };
}
