/**
 * Throughput analytics, pre-aggregated. Every job event (robot steps and standalone jobs alike)
 * adds to one stored bucket per stored granularity (minute, hour): counters (submitted,
 * completed, failed attempts, dead) and histograms of run time and wait time (start − due).
 * Days, weeks (from Monday, UTC) and calendar months are answered from hour buckets: a day
 * bucket too cost every job a third write, while a month read from hours is ~720 small items
 * per queue and type. A query reads the buckets of its range, so its cost depends on the range
 * and granularity, never on how many jobs there were.
 */
import { bucketOf, bucketValue, type Histogram, merge, summary } from './histogram.ts';

/** Approximate size of each granularity, for range limits. */
export const granularities = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 31 * 86_400_000,
} as const;
export type Granularity = keyof typeof granularities;
export const storedGranularities = ['minute', 'hour'] as const;
export type StoredGranularity = (typeof storedGranularities)[number];

/** The stored buckets a granularity is answered from. */
export const storedFor = (granularity: Granularity): StoredGranularity =>
  granularity === 'minute' ? 'minute' : 'hour';

/**
 * The finest stored buckets that answer a range: minutes for a range of up to six hours within
 * the last day (so "the last five minutes" means five minutes, not the whole hour around them),
 * hours otherwise (fewer items to read for days and weeks).
 */
export function finestStoredFor(from: Date, to: Date, now: Date): StoredGranularity {
  const recent = from.getTime() >= now.getTime() - 86_400_000;
  return recent && to.getTime() - from.getTime() <= 6 * 3_600_000 ? 'minute' : 'hour';
}

export const bucketStart = (at: Date | number, granularity: Granularity): string => {
  const ms = typeof at === 'number' ? at : at.getTime();
  if (granularity === 'week' || granularity === 'month') {
    const day = new Date(Math.floor(ms / 86_400_000) * 86_400_000);
    if (granularity === 'month')
      return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1)).toISOString();
    // ISO weeks start on Monday.
    return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * 86_400_000).toISOString();
  }
  const size = granularities[granularity];
  return new Date(Math.floor(ms / size) * size).toISOString();
};

/** The start of the bucket after the one starting at `start`. */
export function nextBucketStart(start: number, granularity: Granularity): number {
  if (granularity !== 'month') return start + granularities[granularity];
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** One event's contribution to a bucket. */
export interface MetricDelta {
  readonly queue: string;
  readonly type: string;
  readonly at: Date;
  readonly submitted?: number;
  readonly completed?: number;
  readonly failed?: number;
  readonly dead?: number;
  readonly runMs?: number;
  readonly waitMs?: number;
  /** A completed job's payload size (JSON bytes): what slow-jobs relates run times to. */
  readonly payloadBytes?: number;
  /**
   * The number of the attempt that ended with this change (completed, or failed): the retry
   * analysis's success rate by attempt. Left out when no attempt ended (a workflow's DEAD record
   * after a failed attempt, which was counted then).
   */
  readonly attempt?: number;
  /** How long a failed attempt ran (start to failure): worker time that produced nothing. */
  readonly failedRunMs?: number;
  /** A failed attempt's backoff: from its failure to the retry's due time. */
  readonly retryDelayMs?: number;
  /** The failed attempt's error class (domain/error-classes.ts): its id and text. */
  readonly errorClass?: { readonly id: string; readonly label: string };
}

/** Attempts are counted by number up to this one; later attempts count as this one ("10 or later"). */
export const maxCountedAttempt = 10;

/**
 * Distinct error classes one bucket item keeps (MetricsStore enforces it with a condition on
 * the item's set of class ids); the failures of further classes count as `x_other`.
 */
export const maxErrorClassesPerBucket = 20;

/** The counter of an error class's failed attempts, and the attribute holding its text. */
export const errorCounterPrefix = 'x_';
export const errorLabelPrefix = 'xl_';
export const otherErrors = 'x_other';

/** The counter and histogram-bucket increments a delta makes (attribute → amount). */
export function increments(delta: MetricDelta): Record<string, number> {
  const add: Record<string, number> = {};
  for (const key of ['submitted', 'completed', 'failed', 'dead'] as const) {
    if (delta[key]) add[key] = delta[key];
  }
  if (delta.runMs !== undefined) {
    add[`r${bucketOf(delta.runMs)}`] = 1;
    // Exact sums beside the histograms: means, trends and the payload-size regression.
    add.runMsSum = delta.runMs;
    add.runMsSqSum = delta.runMs * delta.runMs;
    if (delta.payloadBytes !== undefined) {
      add.payloadBytesSum = delta.payloadBytes;
      add.payloadBytesSqSum = delta.payloadBytes * delta.payloadBytes;
      add.payloadRunSum = delta.payloadBytes * delta.runMs;
    }
  }
  if (delta.waitMs !== undefined) {
    add[`w${bucketOf(Math.max(0, delta.waitMs))}`] = 1;
    add.waitMsSum = Math.max(0, delta.waitMs);
  }
  if (delta.attempt !== undefined && delta.attempt >= 1) {
    const n = Math.min(Math.floor(delta.attempt), maxCountedAttempt);
    // ac<n>: attempt n completed the job; af<n>: attempt n failed (retried or dead).
    if (delta.completed) add[`ac${n}`] = 1;
    else if (delta.failed) add[`af${n}`] = 1;
    if (n >= 2) {
      const ran = delta.completed ? delta.runMs : delta.failedRunMs;
      if (ran !== undefined) add.retryRunMsSum = ran;
    }
  }
  if (delta.failedRunMs !== undefined) {
    add.failedRunMsSum = Math.max(0, delta.failedRunMs);
    add.failedRuns = 1;
  }
  if (delta.retryDelayMs !== undefined) add.retryDelayMsSum = Math.max(0, delta.retryDelayMs);
  if (delta.errorClass) add[`${errorCounterPrefix}${delta.errorClass.id}`] = 1;
  return add;
}

/** The additions of many events to their stored buckets, like events summed (one write each). */
export interface BucketAddition {
  readonly granularity: StoredGranularity;
  readonly queue: string;
  readonly type: string;
  readonly bucket: string;
  readonly counters: Record<string, number>;
  /** The text of each error class counted (class id → normalised message). */
  readonly errorClasses: Record<string, string>;
}

export function bucketAdditions(deltas: readonly MetricDelta[]): BucketAddition[] {
  const merged = new Map<string, BucketAddition>();
  for (const delta of deltas) {
    const counters = increments(delta);
    if (Object.keys(counters).length === 0) continue;
    for (const granularity of storedGranularities) {
      const bucket = bucketStart(delta.at, granularity);
      const key = `${granularity}|${delta.queue}|${delta.type}|${bucket}`;
      const addition = merged.get(key) ?? {
        granularity,
        queue: delta.queue,
        type: delta.type,
        bucket,
        counters: {},
        errorClasses: {},
      };
      for (const [name, n] of Object.entries(counters))
        addition.counters[name] = (addition.counters[name] ?? 0) + n;
      if (delta.errorClass) addition.errorClasses[delta.errorClass.id] = delta.errorClass.label;
      merged.set(key, addition);
    }
  }
  return [...merged.values()];
}

export interface StoredBucket {
  readonly bucket: string;
  readonly queue: string;
  readonly type: string;
  readonly counters: Record<string, number>;
  /** The text of the error classes the bucket counts (`x_<id>` counters), by class id. */
  readonly errorClasses?: Record<string, string>;
}

/**
 * The run time a bucket's counters account for (completed and failed attempts): the exact sums
 * where kept, else the completed runs' histogram at each bucket's representative value.
 */
export function workerMsOf(counters: Record<string, number>): number {
  let completedMs = counters.runMsSum;
  if (completedMs === undefined) {
    completedMs = 0;
    for (const [key, count] of Object.entries(counters))
      if (/^r\d+$/.test(key)) completedMs += bucketValue(Number(key.slice(1))) * count;
  }
  return completedMs + (counters.failedRunMsSum ?? 0);
}

interface Aggregate {
  submitted: number;
  completed: number;
  failed: number;
  dead: number;
  run: Histogram;
  wait: Histogram;
}

const empty = (): Aggregate => ({ submitted: 0, completed: 0, failed: 0, dead: 0, run: {}, wait: {} });

function add(into: Aggregate, counters: Record<string, number>): void {
  for (const [key, value] of Object.entries(counters)) {
    if (key === 'submitted' || key === 'completed' || key === 'failed' || key === 'dead') into[key] += value;
    else if (/^r\d+$/.test(key)) merge(into.run, { [Number(key.slice(1))]: value });
    else if (/^w\d+$/.test(key)) merge(into.wait, { [Number(key.slice(1))]: value });
  }
}

function view(a: Aggregate, seconds: number) {
  const finished = a.completed + a.dead;
  return {
    submitted: a.submitted,
    completed: a.completed,
    failed: a.failed,
    dead: a.dead,
    jobsPerSecond: Number((a.completed / seconds).toFixed(3)),
    successRate: finished ? Number((a.completed / finished).toFixed(4)) : null,
    runTimeMs: summary(a.run),
    waitTimeMs: summary(a.wait),
  };
}

/** Merges stored buckets (any shards, queues, types) into the answer of GET /analytics/throughput. */
export function throughputReport(
  buckets: readonly StoredBucket[],
  from: Date,
  to: Date,
  granularity: Granularity,
) {
  const byBucket = new Map<string, Aggregate>();
  const totals = empty();
  for (const b of buckets) {
    // Stored buckets fold into the asked granularity (days into weeks or months).
    const key = bucketStart(Date.parse(b.bucket), granularity);
    const a = byBucket.get(key) ?? empty();
    add(a, b.counters);
    add(totals, b.counters);
    byBucket.set(key, a);
  }
  const series = [];
  for (let t = Date.parse(bucketStart(from, granularity)); t < to.getTime(); ) {
    const next = nextBucketStart(t, granularity);
    const key = new Date(t).toISOString();
    series.push({ bucket: key, ...view(byBucket.get(key) ?? empty(), (next - t) / 1000) });
    t = next;
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    granularity,
    buckets: series,
    totals: view(totals, Math.max(1, (to.getTime() - from.getTime()) / 1000)),
  };
}

/** Histogram of run times over stored buckets (GET /metrics/job-duration-histogram). */
export function durationHistogram(buckets: readonly StoredBucket[]) {
  const a = empty();
  for (const b of buckets) add(a, b.counters);
  return {
    ...summary(a.run),
    buckets: Object.entries(a.run)
      .map(([bucket, count]) => ({
        bucket: Number(bucket),
        upToMs: Math.round(2 ** (Number(bucket) / 4)),
        count,
      }))
      .sort((x, y) => x.bucket - y.bucket),
  };
}

/** An hour of completed robot orders of one type (stored by the step worker on completion). */
export interface OrderHour {
  readonly bucket: string;
  readonly robotType: string;
  readonly completed: number;
  readonly assemblyMsSum: number;
}

/** The orders part of GET /analytics/throughput: completions per hour, mean assembly time per type. */
export function ordersReport(hours: readonly OrderHour[]) {
  const perHour = new Map<string, number>();
  const byType = new Map<string, { completed: number; sum: number }>();
  for (const o of hours) {
    perHour.set(o.bucket, (perHour.get(o.bucket) ?? 0) + o.completed);
    const t = byType.get(o.robotType) ?? { completed: 0, sum: 0 };
    t.completed += o.completed;
    t.sum += o.assemblyMsSum;
    byType.set(o.robotType, t);
  }
  return {
    completedPerHour: [...perHour.entries()].sort().map(([hour, completed]) => ({ hour, completed })),
    byRobotType: Object.fromEntries(
      [...byType.entries()]
        .filter(([, t]) => t.completed > 0)
        .map(([robotType, t]) => [
          robotType,
          { completed: t.completed, meanAssemblyMs: Math.round(t.sum / t.completed) },
        ]),
    ),
  };
}
