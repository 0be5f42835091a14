/** Scaling advice: Erlang C against known values, and the advice from measured buckets. */
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../functions/domain/histogram.ts';
import { erlangC, meanOf, scalingAdvice } from '../../functions/domain/scaling-advice.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';
import { predictiveScale } from '../../functions/domain/worker-scaling.ts';

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

describe('the predictive autoscaling policy', () => {
  const bounds = { min: 2, max: 40 };
  const minuteOf = (n: number) => new Date(Date.UTC(2026, 11, 2, 12, n)).toISOString();
  // An hour of 600 jobs a minute (10/s) that run 400 ms: 4 workers busy on average.
  const steady = Array.from({ length: 60 }, (_, i) => ({
    bucket: minuteOf(i),
    queue: 'reports',
    type: 'generate_report',
    counters: { submitted: 600, completed: 600, [`r${bucketOf(400)}`]: 600 },
  }));
  const advice = (current: number) =>
    scalingAdvice({
      queue: 'reports',
      buckets: steady,
      windowMs: 3_600_000,
      targetWaitMs: 100,
      currentConcurrency: current,
      maxWorkers: 40,
    });

  it('sizes the queue for its arrivals from the queueing model, with its reasoning', () => {
    const decision = predictiveScale(3, { depth: 0, inFlight: 3, oldestWaitingMs: null }, bounds, advice(3));
    const suggested = advice(3).suggestedWorkers;
    expect(suggested).toBeGreaterThan(4);
    expect(decision.desired).toBe(suggested);
    expect(decision.reason).toMatch(
      /^predictive: \d+ for the arrivals \(with \d+ workers \(M\/M\/\d+, Erlang C\)/,
    );
  });

  it('adds the workers that clear a standing backlog within a minute', () => {
    const model = advice(5);
    // 3,000 waiting × ~400 ms = 1,200 worker-seconds: 20 more workers for a minute.
    const decision = predictiveScale(5, { depth: 3000, inFlight: 5, oldestWaitingMs: 60_000 }, bounds, model);
    expect(decision.desired - model.suggestedWorkers).toBeGreaterThanOrEqual(18);
    expect(decision.desired - model.suggestedWorkers).toBeLessThanOrEqual(22);
    expect(decision.reason).toContain('to clear 3000 waiting within a minute');
  });

  it('stays within the bounds and comes down by at most half a tick', () => {
    expect(
      predictiveScale(5, { depth: 100_000, inFlight: 5, oldestWaitingMs: 1 }, bounds, advice(5)).desired,
    ).toBe(40);
    const idle = scalingAdvice({
      queue: 'reports',
      buckets: [],
      windowMs: 3_600_000,
      targetWaitMs: 100,
      currentConcurrency: 30,
      maxWorkers: 40,
    });
    const down = predictiveScale(30, { depth: 0, inFlight: 0, oldestWaitingMs: null }, bounds, idle);
    expect(down).toMatchObject({ desired: 15 });
    expect(down.reason).toContain('at most by half');
  });
});
