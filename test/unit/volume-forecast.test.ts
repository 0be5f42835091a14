/** The volume forecast: seasonal means with a trend, fitted on hourly counts, and workers per hour. */
import { describe, expect, it } from 'vitest';
import { waitWithinProbability, workersForSla } from '../../functions/domain/scaling-advice.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';
import {
  expectedAt,
  fitVolumeModel,
  holdoutQuality,
  hourlyCounts,
  meanRunMsOf,
  volumeForecast,
} from '../../functions/domain/volume-forecast.ts';

const hour = 3_600_000;
/** Monday 30 November 2026, 00:00 UTC. */
const monday = Date.parse('2026-11-30T00:00:00.000Z');
/** Busy office hours (09–17 UTC), quiet weekends. */
const season = (t: number) => {
  const d = new Date(monday + t * hour);
  const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
  return (d.getUTCHours() >= 9 && d.getUTCHours() < 17 ? 30 : 0) + (weekend ? -8 : 0);
};

describe('the volume model', () => {
  it('recovers an exact weekly rhythm and trend from two weeks, and forecasts the third', () => {
    const counts = Array.from({ length: 336 }, (_, t) => 20 + 0.05 * t + season(t));
    const model = fitVolumeModel(counts, monday);
    expect(model.season).toBe('hour-of-week');
    expect(model.trendPerHour).toBeCloseTo(0.05, 10);
    expect(model.residualSd).toBeCloseTo(0, 8);
    for (const t of [336, 345, 500, 503])
      expect(expectedAt(model, monday + t * hour)).toBeCloseTo(20 + 0.05 * t + season(t), 8);
  });

  it('does not take a weekly rhythm for a trend', () => {
    // Least squares of these counts on time alone would find a slope (the weekend comes last).
    const counts = Array.from({ length: 336 }, (_, t) => 20 + season(t));
    expect(fitVolumeModel(counts, monday).trendPerHour).toBeCloseTo(0, 10);
  });

  it('falls back to the hour of the day below two weeks, and to a flat mean below two days', () => {
    const days = Array.from({ length: 72 }, (_, t) => 10 + (t % 24 === 3 ? 50 : 0));
    const daily = fitVolumeModel(days, monday);
    expect(daily.season).toBe('hour-of-day');
    expect(expectedAt(daily, monday + (72 + 3) * hour)).toBeCloseTo(60, 8);
    expect(expectedAt(daily, monday + (72 + 4) * hour)).toBeCloseTo(10, 8);
    const flat = fitVolumeModel([4, 6, 5, 5], monday);
    expect(flat).toMatchObject({ season: 'none', trendPerHour: 0 });
    expect(expectedAt(flat, monday + 100 * hour)).toBe(5);
    // Never a negative count.
    const falling = fitVolumeModel(
      Array.from({ length: 48 }, (_, t) => 48 - t),
      monday,
    );
    expect(expectedAt(falling, monday + 200 * hour)).toBe(0);
  });

  it('measures itself on the held-out last day against a flat forecast', () => {
    // Three weeks: the two left after holding out the last day still show the weekend.
    const counts = Array.from({ length: 504 }, (_, t) => 20 + season(t));
    const quality = holdoutQuality(counts, monday);
    expect(quality?.heldOutHours).toBe(24);
    expect(quality?.meanAbsoluteError).toBeCloseTo(0, 6);
    expect(quality?.flatForecastError).toBeGreaterThan(5);
    // Two weeks: the held-out Sunday is judged by the hour of the day alone, and misses the weekend.
    const twoWeeks = holdoutQuality(counts.slice(0, 336), monday);
    expect(twoWeeks?.meanAbsoluteError).toBeGreaterThan(1);
    expect(twoWeeks?.meanAbsoluteError).toBeLessThan(twoWeeks?.flatForecastError ?? 0);
    expect(holdoutQuality(counts.slice(0, 60), monday)).toBeNull();
  });
});

describe('the forecast', () => {
  it('counts submissions per hour from the buckets, from the first hour with any', () => {
    const bucket = (h: number, submitted: number, shard = 0): StoredBucket => ({
      bucket: new Date(monday + h * hour).toISOString(),
      queue: 'reports',
      type: `t${shard}`,
      counters: { submitted },
    });
    const { start, counts } = hourlyCounts(
      [bucket(2, 3), bucket(2, 4, 1), bucket(5, 1), bucket(0, 0)],
      monday,
      monday + 7 * hour,
    );
    expect(start).toBe(monday + 2 * hour);
    expect(counts).toEqual([7, 0, 0, 1, 0]);
    expect(hourlyCounts([], monday, monday + hour).counts).toEqual([]);
  });

  it('takes the mean run time from the exact sums, the histogram where there are none', () => {
    expect(meanRunMsOf([{ bucket: '', queue: 'q', type: 't', counters: { r40: 2, runMsSum: 3000 } }])).toBe(
      1500,
    );
    expect(meanRunMsOf([])).toBeNull();
  });

  it('sizes each hour’s workers for the SLA by Erlang C’s wait distribution', () => {
    // One job a second of one second: A = 1. With 2 workers C = 1/3, P(W ≤ 1 s) = 1 − e^−1 / 3.
    expect(waitWithinProbability(2, 1, 1000, 1000)).toBeCloseTo(1 - Math.exp(-1) / 3, 12);
    expect(workersForSla(3600, 1000, { withinMs: 1000, percent: 80 }, 100)).toBe(2);
    // With 3, C = 1/11: P(W ≤ 1 s) = 1 − e^−2 / 11 ≈ 0.988.
    expect(workersForSla(3600, 1000, { withinMs: 1000, percent: 95 }, 100)).toBe(3);
    expect(workersForSla(3600, 1000, { withinMs: 1000, percent: 95 }, 2)).toBeUndefined();
    expect(workersForSla(0, 1000, { withinMs: 1000, percent: 95 }, 2)).toBe(0);

    const counts = Array.from({ length: 72 }, (_, t) => (t % 24 === 9 ? 3600 : 0));
    const forecast = volumeForecast({
      queue: 'reports',
      counts,
      historyStart: monday,
      from: monday + 72 * hour,
      hours: 24,
      meanRunMs: 1000,
      sla: { withinMs: 1000, percent: 95 },
      maxWorkers: 100,
    });
    expect(forecast.hours).toHaveLength(24);
    expect(forecast.hours[9]).toMatchObject({ hour: '2026-12-03T09:00:00.000Z', jobs: 3600, workers: 3 });
    expect(forecast.hours[10]).toMatchObject({ jobs: 0, workers: 0 });
    expect(forecast.peak).toMatchObject({ jobs: 3600, workers: 3 });
    expect(forecast.totalJobs).toBe(3600);
    expect(forecast.model).toMatchObject({ season: 'hour-of-day', history: { hours: 72, jobs: 3 * 3600 } });
  });

  it('says why there are no workers without an SLA', () => {
    const forecast = volumeForecast({
      queue: 'reports',
      counts: [1, 2],
      historyStart: monday,
      from: monday + 2 * hour,
      hours: 3,
      meanRunMs: 1000,
      maxWorkers: 10,
    });
    expect(forecast.hours[0]).not.toHaveProperty('workers');
    expect(forecast.workersNote).toContain('PUT /queues/reports/sla');
  });
});
