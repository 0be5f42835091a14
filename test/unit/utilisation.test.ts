/** Worker utilisation: run time against the worker time the queue's concurrency offered. */
import { describe, expect, it } from 'vitest';
import type { StoredBucket } from '../../functions/domain/throughput.ts';
import {
  concurrencyTimeline,
  configuredConcurrency,
  utilisationReport,
  workerMsAvailable,
} from '../../functions/domain/utilisation.ts';

const t0 = Date.parse('2026-12-01T00:00:00.000Z');
const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('the concurrency a queue had', () => {
  it('follows the scaling decisions, from what stood before the range', () => {
    const changes = [
      { at: iso(t0 - hour), from: 12, to: 6 },
      { at: iso(t0 + hour), from: 6, to: 18 },
      { at: iso(t0 + 3 * hour), from: 18, to: 6 },
    ];
    const segments = concurrencyTimeline(changes, 12, t0, t0 + 2 * hour);
    expect(segments).toEqual([
      { from: t0, to: t0 + hour, workers: 6 },
      { from: t0 + hour, to: t0 + 2 * hour, workers: 18 },
    ]);
    expect(workerMsAvailable(segments, t0, t0 + 2 * hour)).toBe(24 * hour);
    // Only later changes: what the first one changed from stood; none at all: the standing value.
    expect(concurrencyTimeline(changes.slice(1), 12, t0, t0 + 2 * hour)[0]?.workers).toBe(6);
    expect(concurrencyTimeline([], 12, t0, t0 + hour)).toEqual([{ from: t0, to: t0 + hour, workers: 12 }]);
    expect(configuredConcurrency('default')).toBe(12);
  });
});

describe('utilisation', () => {
  const bucket = (h: number, counters: Record<string, number>, queue = 'default'): StoredBucket => ({
    bucket: iso(t0 + h * hour),
    queue,
    type: 't',
    counters,
  });

  it('divides the run time of completed and failed attempts by the worker time offered, per bucket too', () => {
    const segments = concurrencyTimeline([{ at: iso(t0 + hour), from: 6, to: 18 }], 6, t0, t0 + 2 * hour);
    const report = utilisationReport(
      'default',
      // Hour 0: 3 worker-hours of runs (two types) of 6 offered; hour 1: 9 of 18.
      [
        bucket(0, { runMsSum: 2 * hour, failedRunMsSum: 0.5 * hour }),
        bucket(0, { runMsSum: 0.5 * hour }),
        bucket(1, { runMsSum: 9 * hour }),
      ],
      segments,
      { from: new Date(t0), to: new Date(t0 + 2 * hour), stepMs: hour },
    );
    expect(report).toMatchObject({
      busySeconds: 12 * 3600,
      availableWorkerSeconds: 24 * 3600,
      idleWorkerSeconds: 12 * 3600,
      utilisation: 0.5,
      slotsPerWorker: 1,
      workers: { atStart: 6, atEnd: 18, min: 6, max: 18, changes: 1 },
    });
    expect(report.series).toEqual([
      { bucket: iso(t0), busySeconds: 3 * 3600, availableSeconds: 6 * 3600, utilisation: 0.5 },
      { bucket: iso(t0 + hour), busySeconds: 9 * 3600, availableSeconds: 18 * 3600, utilisation: 0.5 },
    ]);
  });

  it('counts a line worker as five step slots (it runs its batch side by side)', () => {
    const segments = concurrencyTimeline([], 10, t0, t0 + hour);
    const report = utilisationReport('assembly', [bucket(0, { runMsSum: 10 * hour }, 'assembly')], segments, {
      from: new Date(t0),
      to: new Date(t0 + hour),
      stepMs: hour,
    });
    expect(report).toMatchObject({ slotsPerWorker: 5, availableWorkerSeconds: 50 * 3600, utilisation: 0.2 });
  });
});
