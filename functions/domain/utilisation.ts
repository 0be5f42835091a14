/**
 * GET /analytics/utilisation: how much of the worker time a queue had it used. Busy time is the
 * run time the metric buckets sum (completed and failed attempts); worker time available is the
 * queue's concurrency integrated over the range — the configured band concurrency
 * (domain/job-queues.ts) or an operator's pinned value, changed at each scaling decision the
 * operations table records (manual and autoscaler alike). A line's worker runs up to
 * stepsPerLineWorker steps of its batch side by side, so a line's capacity is its workers times
 * that; a job queue's worker runs one job.
 */
import { bandConcurrency, isProductionLine } from './job-queues.ts';
import { stepsPerLineWorker } from './production-lines.ts';
import { type StoredBucket, workerMsOf } from './throughput.ts';

/** A recorded change of a queue's concurrency (operations table, `scaling#<queue>`). */
export interface ConcurrencyChange {
  readonly at: string;
  readonly from: number;
  readonly to: number;
}

export interface ConcurrencySegment {
  readonly from: number;
  readonly to: number;
  readonly workers: number;
}

/** The configured total of a queue's bands. */
export const configuredConcurrency = (queue: string): number =>
  Object.values<number>(bandConcurrency(queue)).reduce((a, b) => a + b, 0);

/**
 * The queue's concurrency over [from, to) as segments: at `from` it is what the last change
 * before it set, else what the first change after it changed from, else `standing` (no change
 * recorded: the pinned or configured concurrency).
 */
export function concurrencyTimeline(
  changes: readonly ConcurrencyChange[],
  standing: number,
  from: number,
  to: number,
): ConcurrencySegment[] {
  const ordered = [...changes]
    .map((c) => ({ ...c, ms: Date.parse(c.at) }))
    .filter((c) => Number.isFinite(c.ms))
    .sort((a, b) => a.ms - b.ms);
  const before = ordered.filter((c) => c.ms <= from).at(-1);
  const within = ordered.filter((c) => c.ms > from && c.ms < to);
  let workers = before?.to ?? within[0]?.from ?? standing;
  const segments: ConcurrencySegment[] = [];
  let start = from;
  for (const change of within) {
    if (change.ms > start) segments.push({ from: start, to: change.ms, workers });
    start = change.ms;
    workers = change.to;
  }
  segments.push({ from: start, to, workers });
  return segments;
}

/** Worker-milliseconds the segments offer within [from, to). */
export function workerMsAvailable(segments: readonly ConcurrencySegment[], from: number, to: number): number {
  let ms = 0;
  for (const s of segments) ms += Math.max(0, Math.min(to, s.to) - Math.max(from, s.from)) * s.workers;
  return ms;
}

const ratio = (busy: number, available: number) =>
  available > 0 ? Number((busy / available).toFixed(4)) : null;
const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

/**
 * One queue's utilisation over [from, to) from its buckets of one stored granularity (`stepMs`
 * long each), overall and per bucket.
 */
export function utilisationReport(
  queue: string,
  buckets: readonly StoredBucket[],
  segments: readonly ConcurrencySegment[],
  range: { readonly from: Date; readonly to: Date; readonly stepMs: number },
) {
  const slotsPerWorker = isProductionLine(queue) ? stepsPerLineWorker : 1;
  const from = range.from.getTime();
  const to = range.to.getTime();
  const busyByBucket = new Map<number, number>();
  let busy = 0;
  for (const b of buckets) {
    const ms = workerMsOf(b.counters);
    busy += ms;
    const at = Date.parse(b.bucket);
    busyByBucket.set(at, (busyByBucket.get(at) ?? 0) + ms);
  }
  const available = workerMsAvailable(segments, from, to) * slotsPerWorker;
  const series = [];
  for (let t = Math.floor(from / range.stepMs) * range.stepMs; t < to; t += range.stepMs) {
    const offered =
      workerMsAvailable(segments, Math.max(from, t), Math.min(to, t + range.stepMs)) * slotsPerWorker;
    const used = busyByBucket.get(t) ?? 0;
    series.push({
      bucket: new Date(t).toISOString(),
      busySeconds: seconds(used),
      availableSeconds: seconds(offered),
      utilisation: ratio(used, offered),
    });
  }
  const workers = segments.map((s) => s.workers);
  return {
    queue,
    busySeconds: seconds(busy),
    availableWorkerSeconds: seconds(available),
    idleWorkerSeconds: seconds(Math.max(0, available - busy)),
    utilisation: ratio(busy, available),
    slotsPerWorker,
    workers: {
      atStart: workers[0] ?? null,
      atEnd: workers.at(-1) ?? null,
      min: workers.length ? Math.min(...workers) : null,
      max: workers.length ? Math.max(...workers) : null,
      changes: Math.max(0, segments.length - 1),
    },
    series,
  };
}
