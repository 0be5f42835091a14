/** Rate-limited starts: on their slot or within its tolerance, else a new slot — never crowded. */
import { describe, expect, it } from 'vitest';
import { runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { lateStartToleranceMs, slotSpacingMs } from '../../functions/domain/rate-limits.ts';
import type { JobType } from '../../functions/job-types/job-type.ts';
import { attemptHarness, now, queuedJob } from './fixtures/attempt-harness.ts';

const limit = { limit: 10, windowMs: 1000 };

describe('rate limit slots', () => {
  it('keeps any window to the limit when every start is within its tolerance of its slot', () => {
    // Worst case: each start as late as allowed or on time, alternating at random.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const starts = Array.from(
      { length: 500 },
      (_, k) => k * slotSpacingMs(limit) + (random() < 0.5 ? lateStartToleranceMs(limit) : 0),
    );
    for (const s of starts)
      expect(starts.filter((t) => t >= s && t < s + limit.windowMs).length).toBeLessThanOrEqual(limit.limit);
  });

  it('does not start on a slot it reached too late: it takes the next one', async () => {
    let clock = now.getTime();
    let lateness = 200; // the first wake-up is late, like on a loaded machine
    const slots: number[] = [];
    const started: string[] = [];
    const { ports } = attemptHarness([queuedJob('j1', 5)], {
      sleep: async (ms: number) => {
        clock += ms + lateness;
        lateness = 0;
      },
    });
    Object.assign(ports.clock, { now: () => new Date(clock) });
    Object.assign(ports, {
      rateLimiter: {
        reserve: async (_queue: string, at: number) => {
          const slot = Math.max(at, (slots.at(-1) ?? 0) + slotSpacingMs(limit));
          slots.push(slot);
          return { slot, toleranceMs: lateStartToleranceMs(limit) };
        },
        toleranceMs: async () => lateStartToleranceMs(limit),
      },
    });
    Object.assign(ports.jobs, {
      postpone: async () => undefined,
      markStarted: async (job: JobRecord, _token: string, at: Date) => {
        started.push(at.toISOString());
        return { ...job, startedAt: at.toISOString() };
      },
    });
    expect(
      await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, {
        leaseMs: 30_000,
        heartbeatEveryMs: 5_000,
      }),
    ).toBe('completed');
    expect(slots).toHaveLength(2);
    // Started on the second slot, not 200 ms after the first.
    expect(started).toEqual([new Date(slots[1] as number).toISOString()]);
  });
  it('settles CANCELLED, its handler never run, a job whose cancel was asked while it waited for a later slot', async () => {
    let handlerRuns = 0;
    const settled: string[] = [];
    const { ports, jobs } = attemptHarness([queuedJob('j1', 5)], {
      types: new Map([['delayed_message', { run: async () => void handlerRuns++ } as unknown as JobType]]),
    });
    Object.assign(ports, {
      rateLimiter: {
        // The next slot is a minute away: the attempt is given back and the job put back in line.
        reserve: async (_queue: string, at: number) => ({ slot: at + 60_000, toleranceMs: 100 }),
        toleranceMs: async () => 100,
      },
    });
    Object.assign(ports.jobs, {
      // DELETE /jobs/j1 lands while the attempt holds its claim: the store refuses to put it back.
      postpone: async (job: JobRecord) => {
        jobs.set(job.jobId, { ...(jobs.get(job.jobId) as JobRecord), cancelRequestedAt: now.toISOString() });
        return undefined;
      },
      markStarted: async () => undefined,
      settle: async (job: JobRecord, _token: string, settlement: { status: string }) => {
        settled.push(settlement.status);
        const row = { ...job, status: settlement.status } as JobRecord;
        jobs.set(job.jobId, row);
        return row;
      },
    });

    const outcome = await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, {
      leaseMs: 30_000,
      heartbeatEveryMs: 5_000,
    });

    expect(outcome).toBe('cancelled');
    expect(settled).toEqual(['CANCELLED']);
    expect(handlerRuns).toBe(0);
  });
});
