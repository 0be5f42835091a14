/** Within a band, a better priority starts first; giving way is bounded (in-memory ports). */
import { describe, expect, it } from 'vitest';
import { maxDeferrals, runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import { ReadyAheadMemo } from '../../functions/domain/ready-ahead-memo.ts';
import { attemptHarness as harness, queuedJob as job } from './fixtures/attempt-harness.ts';

const settings = { leaseMs: 30_000, heartbeatEveryMs: 5_000 };

describe('priority within a band', () => {
  it('runs the better job of the band first and puts its own call back in line, counted', async () => {
    const { ports, sent, ran } = harness([job('p6', 6), job('p3', 3)]);
    expect(await runJobAttempt({ jobId: 'p6', priority: 6 }, 'default', ports, settings)).toBe('completed');
    expect(ran).toEqual(['p3']);
    expect(sent).toEqual([{ band: 'normal', wakeUp: { jobId: 'p6', priority: 6, deferrals: 1 } }]);
  });

  it(`gives way at most ${maxDeferrals} times, then runs regardless`, async () => {
    const { ports, lookedAhead, ran } = harness([job('p6', 6), job('p3', 3)]);
    await runJobAttempt({ jobId: 'p6', priority: 6, deferrals: maxDeferrals }, 'default', ports, settings);
    expect(ran).toEqual(['p6']);
    expect(lookedAhead).toEqual([]);
  });

  it('does not look ahead for the best priority of a band, nor across bands', async () => {
    const { ports, lookedAhead, ran } = harness([job('p3', 3), job('p0', 0)]);
    // 3 is the best of the normal band; 0 (urgent band) has its own queue and workers.
    await runJobAttempt({ jobId: 'p3', priority: 3 }, 'default', ports, settings);
    expect(lookedAhead).toEqual([]);
    expect(ran).toEqual(['p3']);
  });

  it('trusts an empty look ahead for a moment: a drain of one priority asks the index once', async () => {
    const { ports, lookedAhead, ran } = harness([job('a', 5), job('b', 5), job('c', 6)]);
    const memo = new ReadyAheadMemo(200);
    const withMemo = { ...ports, readyAhead: memo };
    await runJobAttempt({ jobId: 'a', priority: 5 }, 'default', withMemo, settings);
    await runJobAttempt({ jobId: 'b', priority: 5 }, 'default', withMemo, settings);
    // Nothing better than 5 was waiting, so nothing better than 5 for b; 6 must still ask.
    expect(lookedAhead).toEqual([5]);
    await runJobAttempt({ jobId: 'c', priority: 6 }, 'default', withMemo, settings);
    expect(lookedAhead).toEqual([5, 6]);
    expect(ran).toEqual(['a', 'b', 'c']);
  });
});

describe('the ready-ahead memo', () => {
  const at = (ms: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, 0, ms));

  it('answers for the same or a better priority of the band, within its window only', () => {
    const memo = new ReadyAheadMemo(200);
    memo.note('default', 'normal', 5, at(0));
    expect(memo.known('default', 'normal', 5, at(100))).toBe(true);
    expect(memo.known('default', 'normal', 4, at(100))).toBe(true);
    expect(memo.known('default', 'normal', 6, at(100))).toBe(false);
    expect(memo.known('default', 'low', 5, at(100))).toBe(false);
    expect(memo.known('reports', 'normal', 5, at(100))).toBe(false);
    expect(memo.known('default', 'normal', 5, at(200))).toBe(false);
    memo.note('default', 'normal', 5, at(300));
    memo.forget('default', 'normal');
    expect(memo.known('default', 'normal', 5, at(310))).toBe(false);
  });
});
