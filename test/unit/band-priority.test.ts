/** Within a band, a better priority starts first; giving way is bounded (in-memory ports). */
import { describe, expect, it } from 'vitest';
import { type AttemptPorts, maxDeferrals, runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import {
  heldLookEveryMs,
  ReadyAheadMemo,
  wakeUpHeldAfterMs,
} from '../../functions/domain/ready-ahead-memo.ts';
import { attemptHarness as harness, queuedJob as job, now } from './fixtures/attempt-harness.ts';

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

describe('a job whose wake-up is held in a busy band', () => {
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  const dueAgo = (jobId: string, priority: number, ms: number) => ({
    ...job(jobId, priority),
    runAt: ago(ms),
  });
  const at = (ms: number, ports: AttemptPorts) => ({
    ...ports,
    clock: { ...ports.clock, now: () => new Date(now.getTime() + ms) },
  });

  it('is taken by a worker of the band, which puts its own call back in line', async () => {
    const { ports, sent, ran, logs } = harness([job('a', 5), dueAgo('held', 5, 180_000)]);
    const withMemo = { ...ports, readyAhead: new ReadyAheadMemo() };
    expect(await runJobAttempt({ jobId: 'a', priority: 5 }, 'default', withMemo, settings)).toBe('completed');
    expect(ran).toEqual(['held']);
    expect(sent).toEqual([{ band: 'normal', wakeUp: { jobId: 'a', priority: 5, deferrals: 1 } }]);
    expect(logs.find((l) => l.jobId === 'held')?.message).toMatch(
      /started on default \(due since 2026-12-01T09:57:00\.000Z, its wake-up overdue; ahead of a\)/,
    );
  });

  it('is taken whatever its priority in the band, behind a backlog of a better one', async () => {
    const { ports, ran } = harness([job('a', 5), job('b', 5), dueAgo('held', 6, 180_000)]);
    const withMemo = { ...ports, readyAhead: new ReadyAheadMemo() };
    await runJobAttempt({ jobId: 'a', priority: 5 }, 'default', withMemo, settings);
    expect(ran).toEqual(['held']);
  });

  it('is one due for longer than the threshold and free to start: not a recent job nor a blocked one', async () => {
    const { ports, ran, lookedForHeld, sent } = harness([
      job('a', 5),
      dueAgo('recent', 5, wakeUpHeldAfterMs - 1_000),
      { ...dueAgo('blocked', 4, 600_000), status: 'PENDING', waitingOn: new Set(['x']) },
      { ...dueAgo('running', 4, 600_000), status: 'RUNNING' },
    ]);
    await runJobAttempt(
      { jobId: 'a', priority: 5 },
      'default',
      { ...ports, readyAhead: new ReadyAheadMemo() },
      settings,
    );
    expect(lookedForHeld).toHaveLength(1);
    expect(ran).toEqual(['a']);
    // Nothing taken ahead, so the own wake-up was not put back in line.
    expect(sent).toEqual([]);
  });

  it(`is looked for once in ${heldLookEveryMs / 1000} s, when due for longer than ${wakeUpHeldAfterMs / 60_000} minutes`, async () => {
    const { ports, lookedForHeld, ran } = harness([
      job('a', 3),
      job('b', 3),
      job('c', 3),
      dueAgo('held', 3, wakeUpHeldAfterMs - 5_000),
    ]);
    const memo = new ReadyAheadMemo();
    // Due 115 s ago: not yet taken for held.
    await runJobAttempt(
      { jobId: 'a', priority: 3 },
      'default',
      at(0, { ...ports, readyAhead: memo }),
      settings,
    );
    // Due 123 s ago, but this worker looked 8 s ago.
    await runJobAttempt(
      { jobId: 'b', priority: 3 },
      'default',
      at(8_000, { ...ports, readyAhead: memo }),
      settings,
    );
    expect(ran).toEqual(['a', 'b']);
    await runJobAttempt(
      { jobId: 'c', priority: 3 },
      'default',
      at(heldLookEveryMs, { ...ports, readyAhead: memo }),
      settings,
    );
    expect(ran).toEqual(['a', 'b', 'held']);
    expect(lookedForHeld.map((d) => d.toISOString())).toEqual([
      ago(wakeUpHeldAfterMs),
      ago(wakeUpHeldAfterMs - heldLookEveryMs),
    ]);
  });

  it('waits for better work of the band, which goes first', async () => {
    const { ports, ran, lookedForHeld } = harness([
      job('a', 5),
      job('urgent', 3),
      dueAgo('held', 6, 180_000),
    ]);
    await runJobAttempt(
      { jobId: 'a', priority: 5 },
      'default',
      { ...ports, readyAhead: new ReadyAheadMemo() },
      settings,
    );
    expect(ran).toEqual(['urgent']);
    expect(lookedForHeld).toEqual([]);
  });

  it('is not looked for by a worker without a memo to pace the looks', async () => {
    const { ports, lookedForHeld, ran } = harness([job('a', 3), dueAgo('held', 3, 600_000)]);
    await runJobAttempt({ jobId: 'a', priority: 3 }, 'default', ports, settings);
    expect(lookedForHeld).toEqual([]);
    expect(ran).toEqual(['a']);
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
