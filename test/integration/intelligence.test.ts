/**
 * Operational intelligence over HTTP (docs/intelligence.md): what the factory learns from its
 * own history, answered from the metric buckets the analytics recorder fills.
 */
import { describe, expect, it, vi } from 'vitest';
import { api, waitForJob } from '../helpers/factory-client.ts';

describe('GET /analytics/slow-jobs', () => {
  it('relates run time to payload size and suggests what the data shows', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    // Twelve jobs whose work grows with their payload: 16 → 192 characters, 100 → 1,200 ms.
    const jobs = Array.from({ length: 12 }, (_, i) => ({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 0, workMs: 100 * (i + 1), message: 'x'.repeat(16 * (i + 1)) },
    }));
    const submitted = await api('POST', '/jobs/bulk', { jobs });
    expect(submitted.status).toBe(202);
    const done = await Promise.all(
      submitted.body.jobs.map((j: { jobId: string }) => waitForJob(j.jobId, undefined, 60_000)),
    );
    expect(done.map((j) => j.status)).toEqual(Array(12).fill('COMPLETED'));

    // The recorder runs off the job path: poll until it has counted them.
    const report = await vi.waitFor(
      async () => {
        const { status, body } = await api(
          'GET',
          `/analytics/slow-jobs?queue=default&type=fail_sometimes&from=${from}`,
        );
        expect(status).toBe(200);
        const type = body.types.find((t: { type: string }) => t.type === 'fail_sometimes');
        expect(type?.completed).toBeGreaterThanOrEqual(12);
        expect(type?.payload?.samples).toBeGreaterThanOrEqual(12);
        return type;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(report).toMatchObject({ queues: ['default'], timeoutMs: 60_000 });
    expect(report.runMs.p95).toBeGreaterThanOrEqual(900);
    expect(report.runMs.mean).toBeGreaterThan(100);
    expect(report.waitShare).toBeGreaterThanOrEqual(0);
    // Other tests' fail_sometimes jobs share the queue; ours dominate the spread.
    expect(report.payload.correlation).toBeGreaterThan(0.5);
    expect(report.payload.msPerKb).toBeGreaterThan(0);
    expect(report.suggestions.join('\n')).toContain('run time grows with payload size');
  });

  it('answers bad ranges with a 4xx JSON error', async () => {
    const backwards = await api(
      'GET',
      '/analytics/slow-jobs?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z',
    );
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.code).toBe('INVALID_RANGE');
    const queue = await api('GET', '/analytics/slow-jobs?queue=warp');
    expect(queue.status).toBe(400);
    expect(queue.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
  });
});
