/**
 * Mergeable latency histograms: log-linear buckets, four per power of two (each bucket's upper
 * bound is 2^((i+1)/4) ms, so a reported percentile is within ±9% of the true value). A
 * histogram is a sparse map bucket → count; merging is adding counts, which is what makes
 * pre-aggregated minute and hour buckets combinable over any range at a cost that does not grow
 * with the number of jobs.
 */
export type Histogram = Record<number, number>;

const perOctave = 4;

export const bucketOf = (ms: number): number => (ms < 1 ? 0 : Math.floor(Math.log2(ms) * perOctave) + 1);

/** A value representative of a bucket: the geometric middle of its bounds. */
export const bucketValue = (bucket: number): number =>
  bucket === 0 ? 0 : Math.round(2 ** ((bucket - 0.5) / perOctave));

export function merge(into: Histogram, other: Histogram): Histogram {
  for (const [bucket, count] of Object.entries(other))
    into[Number(bucket)] = (into[Number(bucket)] ?? 0) + count;
  return into;
}

export const total = (h: Histogram): number => Object.values(h).reduce((a, b) => a + b, 0);

export function percentile(h: Histogram, p: number): number | null {
  const n = total(h);
  if (n === 0) return null;
  const rank = Math.ceil((p / 100) * n);
  let seen = 0;
  for (const bucket of Object.keys(h)
    .map(Number)
    .sort((a, b) => a - b)) {
    seen += h[bucket] ?? 0;
    if (seen >= rank) return bucketValue(bucket);
  }
  return null;
}

export const summary = (h: Histogram) => ({
  count: total(h),
  p50: percentile(h, 50),
  p95: percentile(h, 95),
  p99: percentile(h, 99),
});
