/**
 * GET /metrics in the Prometheus text format (prom-client renders it): what operators already
 * scrape. Everything comes from what the factory keeps pre-aggregated — the live counts, the
 * last hour's run and wait histograms, the workers' rows — so a scrape costs the same whatever
 * the backlog. Quantiles are over the last hour (a windowed summary, as Prometheus allows
 * for quantiles); job counts are gauges of the rows in each state (finished rows age out by
 * retention, so they are not counters).
 */
import { Gauge, Registry } from 'prom-client';
import type { QueueStats } from './job-counts.ts';

export interface QueueMetrics {
  readonly queue: string;
  readonly stats: QueueStats;
  readonly paused: boolean;
  readonly concurrency: number;
  /** Last hour's run and wait time summaries (ms), from the histograms. */
  readonly runMs: Quantiles;
  readonly waitMs: Quantiles;
  readonly workers: { readonly busy: number; readonly idle: number; readonly lost: number };
}

export interface Quantiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export async function prometheusText(
  queues: readonly QueueMetrics[],
): Promise<{ text: string; contentType: string }> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry] });
  const jobs = gauge('factory_jobs', 'Jobs by queue and state (live counts, about a second behind)', [
    'queue',
    'state',
  ]);
  const paused = gauge('factory_queue_paused', '1 while an operator has paused the queue', ['queue']);
  const concurrency = gauge('factory_queue_concurrency', 'Configured worker concurrency of the queue', [
    'queue',
  ]);
  const workers = gauge('factory_workers', 'Workers seen in the last 15 minutes by status', [
    'queue',
    'status',
  ]);
  const run = gauge('factory_job_run_seconds', 'Run time of the jobs finished in the last hour', [
    'queue',
    'quantile',
  ]);
  const wait = gauge('factory_job_wait_seconds', 'Wait (due → start) of the jobs started in the last hour', [
    'queue',
    'quantile',
  ]);
  const runs = gauge('factory_job_runs_last_hour', 'Runs measured in the last hour', ['queue']);
  for (const q of queues) {
    for (const [state, value] of Object.entries(q.stats)) jobs.set({ queue: q.queue, state }, value);
    paused.set({ queue: q.queue }, q.paused ? 1 : 0);
    concurrency.set({ queue: q.queue }, q.concurrency);
    for (const [status, value] of Object.entries(q.workers)) workers.set({ queue: q.queue, status }, value);
    runs.set({ queue: q.queue }, q.runMs.count);
    for (const [metric, summary] of [
      [run, q.runMs],
      [wait, q.waitMs],
    ] as const)
      for (const [quantile, value] of [
        ['0.5', summary.p50],
        ['0.95', summary.p95],
        ['0.99', summary.p99],
      ] as const)
        if (value !== null) metric.set({ queue: q.queue, quantile }, value / 1000);
  }
  return { text: await registry.metrics(), contentType: registry.contentType };
}
