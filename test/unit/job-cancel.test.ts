/** Cancelling a job: read, conditional write, and another round when the job moved in between. */
import { describe, expect, it } from 'vitest';
import { type CancelPorts, cancelJob, cancelRounds } from '../../functions/domain/job-cancel.ts';
import type { JobLogEntry, JobRecord } from '../../functions/domain/jobs.ts';
import { now, queuedJob } from './fixtures/attempt-harness.ts';

/** An in-memory jobs table whose writes hold only if the row is still as it was read. */
function fakes(rows: JobRecord[], beforeWrite: (jobs: Map<string, JobRecord>) => void = () => undefined) {
  const jobs = new Map(rows.map((r) => [r.jobId, r]));
  const logs: JobLogEntry[] = [];
  const ports = {
    jobs: {
      get: async (id: string) => jobs.get(id),
      requestCancel: async (id: string, at: Date) => {
        beforeWrite(jobs);
        const job = jobs.get(id);
        if (job?.status !== 'RUNNING') return undefined;
        const asked = { ...job, cancelRequestedAt: at.toISOString() };
        jobs.set(id, asked);
        return asked;
      },
      cancel: async (read: JobRecord, reason: string, at: Date) => {
        beforeWrite(jobs);
        const job = jobs.get(read.jobId);
        if (!job || job.status !== read.status) return undefined;
        const cancelled = {
          ...job,
          status: 'CANCELLED' as const,
          cancelReason: reason,
          cancelledAt: at.toISOString(),
        };
        jobs.set(read.jobId, cancelled);
        return cancelled;
      },
    },
    logs: { append: async (_id: string, entry: JobLogEntry) => void logs.push(entry) },
    queue: { send: async () => undefined },
    clock: { now: () => now },
    graceMs: 15_000,
    actor: 'api:test',
  } as unknown as CancelPorts;
  return { ports, jobs, logs };
}

describe('cancelling a job', () => {
  it('cancels a waiting job at once and logs who did it', async () => {
    const { ports, jobs, logs } = fakes([queuedJob('j1', 5)]);
    const outcome = await cancelJob('j1', ports);
    expect(outcome.kind).toBe('cancelled');
    expect(jobs.get('j1')?.status).toBe('CANCELLED');
    expect(logs).toEqual([
      expect.objectContaining({ message: 'Cancelled from QUEUED by api:test', workerId: 'api:test' }),
    ]);
  });

  it('asks a running job to stop; its worker settles it', async () => {
    const { ports, jobs } = fakes([{ ...queuedJob('j1', 5), status: 'RUNNING', attempts: 1 }]);
    expect((await cancelJob('j1', ports)).kind).toBe('stop-requested');
    expect(jobs.get('j1')).toMatchObject({ status: 'RUNNING', cancelRequestedAt: now.toISOString() });
  });

  it('reads again when the job was claimed between the read and the write', async () => {
    let claimed = false;
    const { ports, jobs } = fakes([queuedJob('j1', 5)], (rows) => {
      if (claimed) return;
      claimed = true;
      rows.set('j1', { ...(rows.get('j1') as JobRecord), status: 'RUNNING', attempts: 1 });
    });
    expect((await cancelJob('j1', ports)).kind).toBe('stop-requested');
    expect(jobs.get('j1')?.cancelRequestedAt).toBe(now.toISOString());
  });

  it(`gives up after ${cancelRounds} rounds of a job that keeps moving`, async () => {
    let flips = 0;
    const { ports } = fakes([queuedJob('j1', 5)], (rows) => {
      flips++;
      const job = rows.get('j1') as JobRecord;
      rows.set('j1', { ...job, status: job.status === 'QUEUED' ? 'RUNNING' : 'QUEUED' });
    });
    expect((await cancelJob('j1', ports)).kind).toBe('kept-changing');
    expect(flips).toBe(cancelRounds);
  });

  it('refuses finished jobs, robot steps and unknown ids', async () => {
    const { ports } = fakes([
      { ...queuedJob('done', 5), status: 'COMPLETED' },
      { ...queuedJob('o1.calibrate', 5), kind: 'step', orderId: 'o1' },
    ]);
    expect(await cancelJob('done', ports)).toEqual({ kind: 'finished', status: 'COMPLETED' });
    expect((await cancelJob('o1.calibrate', ports)).kind).toBe('robot-step');
    expect(await cancelJob('nope', ports)).toEqual({ kind: 'not-found' });
  });
});
