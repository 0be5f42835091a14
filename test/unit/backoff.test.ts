import { describe, expect, it } from 'vitest';
import { backoffSchema, retryDelayMs, retrySchedule } from '../../functions/domain/backoff.ts';

const policy = (over: Partial<ReturnType<typeof backoffSchema.parse>>) => backoffSchema.parse(over);

describe('retry schedules', () => {
  it('exponential doubles from delayMs and stops at maxDelayMs', () => {
    expect(retrySchedule(policy({ type: 'exponential', delayMs: 1000, maxDelayMs: 10_000 }), 7)).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });

  it('linear grows by delayMs per attempt', () => {
    expect(retrySchedule(policy({ type: 'linear', delayMs: 500 }), 5)).toEqual([500, 1000, 1500, 2000]);
  });

  it('fixed repeats delayMs, none retries at once', () => {
    expect(retrySchedule(policy({ type: 'fixed', delayMs: 750 }), 4)).toEqual([750, 750, 750]);
    expect(retrySchedule(policy({ type: 'none', delayMs: 750 }), 4)).toEqual([0, 0, 0]);
  });

  it('full jitter draws uniformly below the capped delay', () => {
    const jittered = policy({ type: 'exponential', delayMs: 1000, maxDelayMs: 5000, jitter: true });
    expect(retryDelayMs(jittered, 3, () => 0.5)).toBe(2000);
    expect(retryDelayMs(jittered, 10, () => 0.999)).toBe(4995);
    expect(retryDelayMs(jittered, 1, () => 0)).toBe(0);
  });

  it('defaults to exponential from one second, capped at an hour, without jitter', () => {
    expect(backoffSchema.parse({})).toEqual({
      type: 'exponential',
      delayMs: 1000,
      maxDelayMs: 3_600_000,
      jitter: false,
    });
    expect(backoffSchema.safeParse({ type: 'fibonacci' }).success).toBe(false);
  });
});
