/** GET /metrics' exposition: valid Prometheus text, parsed back with an independent parser. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../functions/domain/job-counts.ts';
import { prometheusText } from '../../functions/domain/prometheus-metrics.ts';

describe('Prometheus metrics', () => {
  it('exposes jobs by state, pauses, workers and last-hour quantiles in seconds', async () => {
    const { text, contentType } = await prometheusText([
      {
        queue: 'default',
        stats: { ...emptyStats(), waiting: 7, active: 2, dead: 1 },
        paused: true,
        concurrency: 12,
        runMs: { count: 40, p50: 250, p95: 1200, p99: 3000 },
        waitMs: { count: 40, p50: 10, p95: null, p99: null },
        workers: { busy: 2, idle: 3, lost: 0 },
      },
    ]);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    const value = (name: string, labels: Record<string, string>) =>
      families.get(name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
        ?.value;
    expect(families.get('factory_jobs')?.type).toBe('GAUGE');
    expect(value('factory_jobs', { queue: 'default', state: 'waiting' })).toBe('7');
    expect(value('factory_jobs', { queue: 'default', state: 'dead' })).toBe('1');
    expect(value('factory_queue_paused', { queue: 'default' })).toBe('1');
    expect(value('factory_workers', { queue: 'default', status: 'idle' })).toBe('3');
    expect(value('factory_job_run_seconds', { queue: 'default', quantile: '0.95' })).toBe('1.2');
    // No measurement, no sample: an unknown quantile is left out, not reported as 0.
    expect(value('factory_job_wait_seconds', { queue: 'default', quantile: '0.95' })).toBeUndefined();
  });
});
