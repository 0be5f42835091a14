/**
 * Service levels on waiting: a queue's SLA says how long its jobs may wait to start — either
 * "p95 wait within X ms" (`{waitP95Ms}`) or "P% of jobs start within X ms" (`{withinMs,
 * percent}`); the first is the second with P = 95. GET /analytics/sla measures it from the wait
 * histograms of the metric buckets (due time to start of the attempt that completed), so its
 * cost depends on the range, never on the number of jobs.
 *
 * Share within X: the histogram's buckets below X count whole, the bucket X falls in counts in
 * proportion to where X lies in it (log scale, as the buckets are): exact up to the buckets'
 * ±9% resolution.
 */
import * as z from 'zod';
import { type Histogram, merge, percentile, total } from './histogram.ts';
import type { StoredBucket } from './throughput.ts';

const waitBound = z.int().min(1).max(86_400_000);

export const slaRequestSchema = z.union([
  z.object({ waitP95Ms: waitBound }).strict(),
  z.object({ withinMs: waitBound, percent: z.number().gt(0).max(100) }).strict(),
]);
export type SlaRequest = z.infer<typeof slaRequestSchema>;

/** A queue's SLA as stored (operations table, pk `sla`): normalised, with the form it was set in. */
export interface QueueSla {
  readonly queue: string;
  readonly withinMs: number;
  readonly percent: number;
  readonly form: 'waitP95Ms' | 'withinMs';
  readonly updatedAt: string;
  readonly updatedBy: string;
}

export function slaOf(queue: string, request: SlaRequest, by: string, at: Date): QueueSla {
  const base = { queue, updatedAt: at.toISOString(), updatedBy: by };
  return 'waitP95Ms' in request
    ? { ...base, withinMs: request.waitP95Ms, percent: 95, form: 'waitP95Ms' }
    : { ...base, withinMs: request.withinMs, percent: request.percent, form: 'withinMs' };
}

/** What the API shows of an SLA: in the form it was set, with its meaning in words. */
export const slaView = (sla: QueueSla) => ({
  ...(sla.form === 'waitP95Ms'
    ? { waitP95Ms: sla.withinMs }
    : { withinMs: sla.withinMs, percent: sla.percent }),
  meaning: `${sla.percent}% of jobs start within ${sla.withinMs} ms of their due time`,
  updatedAt: sla.updatedAt,
  updatedBy: sla.updatedBy,
});

/** Bucket i of a histogram holds [2^((i−1)/4), 2^(i/4)) ms; bucket 0 holds [0, 1). */
const lowerOf = (bucket: number) => (bucket === 0 ? 0 : 2 ** ((bucket - 1) / 4));
const upperOf = (bucket: number) => 2 ** (bucket / 4);

/** How many of the histogram's waits were within `withinMs` (fractional: see the header). */
export function countWithin(histogram: Histogram, withinMs: number): number {
  let within = 0;
  for (const [key, count] of Object.entries(histogram)) {
    const bucket = Number(key);
    const low = lowerOf(bucket);
    const high = upperOf(bucket);
    if (high <= withinMs) within += count;
    else if (low < withinMs) {
      const part =
        bucket === 0
          ? withinMs / high
          : (Math.log2(withinMs) - Math.log2(low)) / (Math.log2(high) - Math.log2(low));
      within += count * part;
    }
  }
  return within;
}

const waitsOf = (counters: Record<string, number>): Histogram => {
  const waits: Histogram = {};
  for (const [key, value] of Object.entries(counters))
    if (/^w\d+$/.test(key)) waits[Number(key.slice(1))] = value;
  return waits;
};

interface Judged {
  readonly bucket: string;
  readonly jobs: number;
  readonly percentWithin: number;
  readonly waitP95Ms: number | null;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

function judge(bucket: string, waits: Histogram, sla: QueueSla): Judged {
  const jobs = total(waits);
  return {
    bucket,
    jobs,
    percentWithin: round((100 * countWithin(waits, sla.withinMs)) / jobs, 2),
    waitP95Ms: percentile(waits, 95),
  };
}

/** A half of the range must hold this many measured waits for the trend to say anything. */
const trendMinJobs = 5;

export interface SlaReport {
  readonly queue: string;
  readonly sla: ReturnType<typeof slaView>;
  readonly compliance: {
    readonly jobs: number;
    readonly withinSla: number;
    readonly percentWithin: number | null;
    readonly met: boolean | null;
    readonly waitP95Ms: number | null;
  };
  readonly bucketsJudged: number;
  readonly violationCount: number;
  /** The buckets out of SLA, oldest first (the first 200). */
  readonly violations: readonly Judged[];
  readonly trend: {
    readonly firstHalfPercent: number | null;
    readonly secondHalfPercent: number | null;
    /** Points of compliance gained (+) or lost (−) from the first half to the second. */
    readonly change: number | null;
    readonly direction: 'improving' | 'worsening' | 'steady' | 'unknown';
  };
  /** Every bucket with measured waits, oldest first. */
  readonly series: readonly Judged[];
}

/**
 * One queue's compliance over [from, to) from its buckets (any types and shards, one stored
 * granularity): overall, per bucket (a bucket is a violation when its share within the SLA is
 * below the SLA's percent), and the trend — the compliance of the range's second half against
 * its first (a change of one point or more either way).
 */
export function slaReport(
  sla: QueueSla,
  buckets: readonly StoredBucket[],
  range: { readonly from: Date; readonly to: Date },
): SlaReport {
  const byBucket = new Map<string, Histogram>();
  const all: Histogram = {};
  const halves: [Histogram, Histogram] = [{}, {}];
  const middle = (range.from.getTime() + range.to.getTime()) / 2;
  for (const b of buckets) {
    const waits = waitsOf(b.counters);
    const inBucket = byBucket.get(b.bucket) ?? {};
    byBucket.set(b.bucket, merge(inBucket, waits));
    merge(all, waits);
    merge(halves[Date.parse(b.bucket) < middle ? 0 : 1], waits);
  }
  const series = [...byBucket.entries()]
    .filter(([, waits]) => total(waits) > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([bucket, waits]) => judge(bucket, waits, sla));
  const violations = series.filter((j) => j.percentWithin < sla.percent);
  const jobs = total(all);
  const within = countWithin(all, sla.withinMs);
  const percentWithin = jobs ? round((100 * within) / jobs, 2) : null;
  const halfPercent = (h: Histogram) =>
    total(h) >= trendMinJobs ? round((100 * countWithin(h, sla.withinMs)) / total(h), 2) : null;
  const [first, second] = halves.map(halfPercent) as [number | null, number | null];
  const change = first !== null && second !== null ? round(second - first, 2) : null;
  return {
    queue: sla.queue,
    sla: slaView(sla),
    compliance: {
      jobs,
      withinSla: Math.round(within),
      percentWithin,
      met: percentWithin === null ? null : percentWithin >= sla.percent,
      waitP95Ms: percentile(all, 95),
    },
    bucketsJudged: series.length,
    violationCount: violations.length,
    violations: violations.slice(0, 200),
    trend: {
      firstHalfPercent: first,
      secondHalfPercent: second,
      change,
      direction:
        change === null ? 'unknown' : change >= 1 ? 'improving' : change <= -1 ? 'worsening' : 'steady',
    },
    series,
  };
}
