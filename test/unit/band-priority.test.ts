/** Within a band, a better priority starts first; giving way is bounded (in-memory ports). */
import { describe, expect, it } from 'vitest';
import {
  type AttemptPorts,
  type JobWakeUp,
  maxDeferrals,
  runJobAttempt,
} from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { delayedMessage } from '../../functions/job-types/delayed-message.ts';
import type { JobType } from '../../functions/job-types/job-type.ts';

const now = new Date('2026-12-01T10:00:00.000Z');

function harness(rows: JobRecord[]) {
  const jobs = new Map(rows.map((r) => [r.jobId, r]));
  const sent: { band: string; wakeUp: JobWakeUp }[] = [];
  const lookedAhead: number[] = [];
  const ran: string[] = [];
  const ports = {
    jobs: {
      get: async (id: string) => jobs.get(id),
      claim: async (id: string, request: { token: string }) => {
        const job = jobs.get(id);
        if (job?.status !== 'QUEUED') return { kind: 'not-runnable' as const, job };
        const claimed = {
          ...job,
          status: 'RUNNING' as const,
          attempts: job.attempts + 1,
          attemptToken: request.token,
        };
        jobs.set(id, claimed);
        ran.push(id);
        return { kind: 'claimed' as const, job: claimed };
      },
      readyAhead: async (_queue: string, _band: string, priority: number) => {
        lookedAhead.push(priority);
        return [...jobs.values()]
          .filter((j) => j.status === 'QUEUED' && j.priority < priority)
          .sort((a, b) => a.priority - b.priority)
          .map((j) => j.jobId);
      },
      extendLease: async () => 'ok' as const,
      settle: async (job: JobRecord) => ({ ...job, status: 'COMPLETED' as const }),
      clearMarker: async () => undefined,
    },
    queue: { send: async (_q: string, band: string, wakeUp: JobWakeUp) => void sent.push({ band, wakeUp }) },
    logs: { append: async () => undefined },
    clock: { now: () => now, sleep: async () => undefined },
    graceMs: 15_000,
    actor: 'w1',
    types: new Map<string, JobType>([['delayed_message', delayedMessage as JobType]]),
    worker: { busy: async () => undefined, idle: async () => undefined },
    random: () => 0.5,
    newToken: () => 'token',
    services: {} as AttemptPorts['services'],
  } as unknown as AttemptPorts;
  return { ports, jobs, sent, lookedAhead, ran };
}

const job = (jobId: string, priority: number): JobRecord => ({
  jobId,
  kind: 'job',
  queue: 'default',
  type: 'delayed_message',
  payload: { message: jobId },
  status: 'QUEUED',
  attempts: 0,
  maxAttempts: 3,
  priority,
  createdAt: now.toISOString(),
  runAt: now.toISOString(),
});
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
