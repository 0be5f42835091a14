/** Within a band, a better priority starts first; giving way is bounded (in-memory ports). */
import { describe, expect, it } from 'vitest';
import { maxDeferrals, runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
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
});
