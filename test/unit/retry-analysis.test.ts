/** Retry analysis: success by attempt number, the time and the cost retries took. */
import { describe, expect, it } from 'vitest';
import { retryAttemptCost } from '../../functions/domain/cost-model.ts';
import { retryReport } from '../../functions/domain/retry-analysis.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';

const range = { from: new Date('2026-12-01T00:00:00.000Z'), to: new Date('2026-12-02T00:00:00.000Z') };
const bucket = (type: string, counters: Record<string, number>, queue = 'default'): StoredBucket => ({
  bucket: '2026-12-01T10:00:00.000Z',
  queue,
  type,
  counters,
});

describe('retry analysis', () => {
  // Webhooks: 10 first attempts (6 succeed), 4 second (3 succeed), 1 third (fails, dead).
  const webhooks = bucket('webhook_call', {
    completed: 9,
    dead: 1,
    ac1: 6,
    af1: 4,
    ac2: 3,
    af2: 1,
    af3: 1,
    retryRunMsSum: 5000,
    failedRunMsSum: 6000,
    retryDelayMsSum: 12_000,
  });
  const mail = bucket('send_email', { completed: 5, ac1: 5 }, 'notifications');

  it('rates each attempt number by its own outcomes and counts retries recovered and wasted', () => {
    const report = retryReport([webhooks, mail], range);
    expect(report.attempts).toEqual([
      { attempt: '1', completed: 11, failed: 4, successRate: 0.7333 },
      { attempt: '2', completed: 3, failed: 1, successRate: 0.75 },
      { attempt: '3', completed: 0, failed: 1, successRate: 0 },
    ]);
    expect(report.firstAttemptSuccessRate).toBe(0.7333);
    expect(report.eventualSuccessRate).toBe(0.9333); // 14 of 15
    expect(report.retries).toMatchObject({
      count: 5,
      recovered: 3,
      wasted: 2,
      runSeconds: 5,
      failedAttemptRunSeconds: 6,
      backoffSeconds: 12,
    });
  });

  it('prices retries at an attempt’s calls and their run time as GB-seconds', () => {
    const { retries, types } = retryReport([webhooks, mail], range);
    const expected = 5 * retryAttemptCost('default') + 5 * 0.5 * 0.0000133334;
    expect(retries.costUsd).toBe(Number(expected.toPrecision(4)));
    // Per type, the most retried first; a type never retried has no retry cost.
    expect(types.map((t) => [t.type, t.retries.count, t.retries.costUsd])).toEqual([
      ['webhook_call', 5, Number(expected.toPrecision(4))],
      ['send_email', 0, 0],
    ]);
  });

  it('labels the last counted attempt as “10 or later”', () => {
    const { attempts } = retryReport([bucket('x', { ac10: 2, af10: 2 })], range);
    expect(attempts).toEqual([{ attempt: '10+', completed: 2, failed: 2, successRate: 0.5 }]);
  });
});
