/**
 * `factory bench`: a throughput measurement against a running factory, through its HTTP API as
 * any client would: N jobs in bulk (a progress bar), then the drain watched on the queue's live
 * counts (a progress bar with the rate), then a sample of the jobs read back for their start
 * latency. It measures the queue, not only these jobs: run it on a quiet queue. `npm run bench`
 * is the local cloud's own bench (calls per job, BullMQ beside it); this one runs against any
 * factory, local or deployed.
 */
import type { FactoryClient, JobSubmission, QueueStats } from '../../client/src/index.ts';
import { type Output, Progress } from './progress.ts';

export interface BenchOptions {
  readonly jobs: number;
  readonly queue: string;
  readonly type: string;
  readonly payload: Record<string, unknown>;
  readonly chunkSize: number;
  /** Bulk calls under way at once. */
  readonly parallel: number;
  /** Give up waiting for the drain after this long. */
  readonly timeoutMs: number;
  /** Jobs read back for the start latency (spread over the run). */
  readonly sample: number;
}

export interface BenchResult {
  readonly queue: string;
  readonly type: string;
  readonly jobs: number;
  readonly submitMs: number;
  readonly submitPerSecond: number;
  /** From the first submission until the queue's finished count covers them all. */
  readonly drainMs: number;
  readonly drainPerSecond: number;
  readonly finished: { readonly completed: number; readonly failedForGood: number };
  readonly startLatencyMs: {
    readonly p50: number | null;
    readonly p95: number | null;
    readonly sampled: number;
  };
  readonly timedOut: boolean;
}

/** Jobs of the queue that will not run again: completed, dead or cancelled. */
const finishedOf = (stats: QueueStats) => stats.completed + stats.dead + stats.cancelled;

const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null);

export async function runBench(
  factory: FactoryClient,
  options: BenchOptions,
  stderr: Output,
  sleep: (ms: number) => Promise<void>,
  now: () => number = Date.now,
): Promise<BenchResult> {
  const before = await factory.queueStats(options.queue);
  const tag = `bench-${now().toString(36)}`;
  const jobs: JobSubmission[] = Array.from({ length: options.jobs }, (_, i) => ({
    queue: options.queue,
    type: options.type,
    payload: {
      ...options.payload,
      ...(options.type === 'delayed_message' ? { message: `${tag}-${i}` } : {}),
    },
  }));

  const submitting = new Progress(stderr, 'Submitting');
  const started = now();
  submitting.update(0, jobs.length);
  const accepted = await factory.submitJobs(jobs, {
    chunkSize: options.chunkSize,
    parallel: options.parallel,
    onProgress: (done, total) => submitting.update(done, total),
  });
  const submitMs = Math.max(1, now() - started);
  submitting.done();

  const draining = new Progress(stderr, 'Draining');
  let after = before;
  let timedOut = false;
  for (;;) {
    after = await factory.queueStats(options.queue);
    const done = Math.min(options.jobs, finishedOf(after) - finishedOf(before));
    const seconds = (now() - started) / 1000;
    draining.update(done, options.jobs, `${(done / Math.max(seconds, 0.001)).toFixed(0)} jobs/s`);
    if (done >= options.jobs) break;
    if (now() - started > options.timeoutMs) {
      timedOut = true;
      break;
    }
    await sleep(500);
  }
  const drainMs = Math.max(1, now() - started);
  draining.done();

  // Start latency of a sample spread over the run (reading all 10,000 back would be its own load).
  const ids = accepted.jobs.map((j) => j.jobId);
  const step = Math.max(1, Math.floor(ids.length / Math.max(1, options.sample)));
  const latencies: number[] = [];
  for (let i = 0; i < ids.length && latencies.length < options.sample; i += step) {
    const job = await factory.getJob(ids[i] as string);
    if (job.startedAt) latencies.push(Date.parse(job.startedAt) - Date.parse(job.createdAt));
  }
  latencies.sort((a, b) => a - b);

  return {
    queue: options.queue,
    type: options.type,
    jobs: options.jobs,
    submitMs,
    submitPerSecond: (options.jobs / submitMs) * 1000,
    drainMs,
    drainPerSecond: (Math.min(options.jobs, finishedOf(after) - finishedOf(before)) / drainMs) * 1000,
    finished: {
      completed: after.completed - before.completed,
      failedForGood: after.dead + after.cancelled - (before.dead + before.cancelled),
    },
    startLatencyMs: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      sampled: latencies.length,
    },
    timedOut,
  };
}

/** The human summary of a run. */
export function describeBench(result: BenchResult): string {
  const ms = (n: number | null) => (n === null ? '—' : `${Math.round(n)} ms`);
  return [
    `${result.jobs} ${result.type} jobs on ${result.queue}`,
    `  submit  ${result.submitPerSecond.toFixed(0)} jobs/s (${(result.submitMs / 1000).toFixed(1)} s)`,
    `  drain   ${result.drainPerSecond.toFixed(1)} jobs/s (${(result.drainMs / 1000).toFixed(1)} s from the first submission${result.timedOut ? ', TIMED OUT' : ''})`,
    `  start   p50 ${ms(result.startLatencyMs.p50)}, p95 ${ms(result.startLatencyMs.p95)} (${result.startLatencyMs.sampled} jobs sampled)`,
    `  finished: ${result.finished.completed} completed, ${result.finished.failedForGood} dead or cancelled (the queue's counts, other work included)`,
  ].join('\n');
}
