/** Scaling advice: Erlang C against known values, and the advice from measured buckets. */
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../functions/domain/histogram.ts';
import { erlangC, meanOf, scalingAdvice } from '../../functions/domain/scaling-advice.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';

const minute = (submitted: number, runMs: number, runs: number): StoredBucket => ({
  bucket: '2026-12-02T09:00:00.000Z',
  queue: 'reports',
  type: 'generate_report',
  counters: { submitted, [`r${bucketOf(runMs)}`]: runs },
});

describe('Erlang C', () => {
  it('matches the textbook: 2 Erlangs on 3 servers wait with probability 4/9', () => {
    // a = 2, c = 3: C = (a^c/c! · c/(c−a)) / (1 + a + a²/2 + a^c/c! · c/(c−a)) = 4 / 9.
    const { probabilityOfWait, meanWaitMs } = erlangC(3, 2, 1000);
    expect(probabilityOfWait).toBeCloseTo(4 / 9, 10);
    // Wq = C · S / (c − a) = 4/9 · 1000 ms.
    expect(meanWaitMs).toBeCloseTo(4000 / 9, 6);
  });

  it('calls a queue with as many workers as its load unstable, and an idle one waitless', () => {
    expect(erlangC(2, 2, 100).meanWaitMs).toBe(Number.POSITIVE_INFINITY);
    expect(erlangC(4, 0, 100)).toEqual({ probabilityOfWait: 0, meanWaitMs: 0 });
  });
});

describe('scaling advice', () => {
  it('names the fewest workers whose expected wait meets the target, with its numbers', () => {
    // 600 jobs in 10 minutes = 1/s, each ~2 s: 2 Erlangs.
    const buckets = Array.from({ length: 10 }, () => minute(60, 2000, 60));
    const advice = scalingAdvice({
      queue: 'reports',
      buckets,
      windowMs: 600_000,
      targetWaitMs: 100,
      currentConcurrency: 3,
      maxWorkers: 50,
    });
    expect(advice.arrivalRatePerSecond).toBe(1);
    const mean = meanOf({ [bucketOf(2000)]: 1 }) as number;
    expect(advice.offeredLoad).toBeCloseTo(mean / 1000, 3);
    expect(advice.expectedWaitMs).toBeLessThanOrEqual(100);
    // One fewer would miss the target: the fewest that meet it.
    expect(erlangC(advice.suggestedWorkers - 1, advice.offeredLoad, mean).meanWaitMs).toBeGreaterThan(100);
    expect(advice.reasoning.join(' ')).toMatch(/600 jobs submitted in the last 10 min/);
    expect(advice.reasoning.at(-1)).toMatch(/at today's 3 workers/);
  });

  it('says so when the target cannot be met within the bound, and when nothing was submitted', () => {
    const busy = scalingAdvice({
      queue: 'reports',
      buckets: [minute(6000, 10_000, 6000)],
      windowMs: 60_000,
      targetWaitMs: 1,
      currentConcurrency: 2,
      maxWorkers: 20,
    });
    // 100 jobs/s of ~10 s each: ~1,000 workers just to keep up, far past the bound of 20.
    expect(busy.offeredLoad).toBeGreaterThan(900);
    expect(busy.suggestedWorkers).toBe(Math.floor(busy.offeredLoad) + 1);
    expect(busy.reasoning[2]).toMatch(/the target 1 ms is not met within 20 workers/);
    expect(busy.reasoning[3]).toBe("today's 2 workers cannot keep up: the backlog grows");
    const idle = scalingAdvice({
      queue: 'reports',
      buckets: [],
      windowMs: 600_000,
      targetWaitMs: 1000,
      currentConcurrency: 2,
      maxWorkers: 20,
    });
    expect(idle).toMatchObject({ suggestedWorkers: 1, expectedWaitMs: null });
    expect(idle.reasoning[0]).toBe('no job was submitted in the last 10 min');
  });
});
