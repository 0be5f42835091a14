/** A vanished worker's attempt, settled by the dispatcher from the listing index's RUNNING partitions (in-memory ports). */
import { describe, expect, it } from 'vitest';
import type { Settlement } from '../../functions/domain/job-lifecycle.ts';
import type { SettledOutcome } from '../../functions/domain/job-outcome-metrics.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { type LeaseRecoveryPorts, recoverExpiredLease } from '../../functions/domain/lease-recovery.ts';
import { now, queuedJob } from './fixtures/attempt-harness.ts';

const running = (jobId: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  ...queuedJob(jobId, 5),
  status: 'RUNNING',
  attempts: 1,
  workerId: 'default:env-7',
  leaseExpiresAt: now.getTime() - 1,
  backoff: { type: 'fixed', delayMs: 2_000, maxDelayMs: 2_000, jitter: false },
  ...extra,
});

const minuteAgo = new Date(now.getTime() - 60_000).toISOString();

function fakes(rows: JobRecord[]) {
  const jobs = new Map(rows.map((r) => [r.jobId, r]));
  const reported: { token: string; error: string }[] = [];
  const sent: string[] = [];
  const logs: string[] = [];
  const lostWorkers: string[] = [];
  const ports = {
    store: {
      get: async (id: string) => jobs.get(id),
      expireLease: async (
        job: JobRecord,
        settlement: Settlement,
        _at: Date,
        plan?: { dispatchAt: string },
      ) => {
        const current = jobs.get(job.jobId);
        if (current?.leaseExpiresAt !== job.leaseExpiresAt) return undefined;
        const settled = {
          ...current,
          status: settlement.status,
          ...(settlement.status === 'FAILED' ? { runAt: settlement.runAt } : {}),
          ...(plan ? { dispatchAt: plan.dispatchAt } : {}),
        } as JobRecord;
        jobs.set(job.jobId, settled);
        return settled;
      },
      abandonStepAttempt: async (job: JobRecord) => {
        const settled = { ...job, status: 'FAILED' as const };
        jobs.set(job.jobId, settled);
        return settled;
      },
      clearMarker: async () => undefined,
      moveMarker: async () => undefined,
    },
    queue: {
      send: async (_q: string, _band: string, wakeUp: { jobId: string }) => void sent.push(wakeUp.jobId),
    },
    logs: { append: async (_id: string, entry: { message: string }) => void logs.push(entry.message) },
    workflow: {
      stepFailed: async (token: string, _name: string, error: string) => void reported.push({ token, error }),
    },
    workers: { markLost: async (workerId: string) => void lostWorkers.push(workerId) },
    clock: { now: () => now },
    graceMs: 15_000,
    actor: 'dispatcher',
    random: () => 0.5,
  } as unknown as LeaseRecoveryPorts;
  (ports as { jobs: unknown }).jobs = ports.store;
  return { ports, jobs, reported, sent, logs, lostWorkers };
}

describe('lease recovery', () => {
  it('leaves a lease that has not run out alone', async () => {
    const { ports, jobs } = fakes([running('j1', { leaseExpiresAt: now.getTime() + 1 })]);
    expect(await recoverExpiredLease('j1', ports)).toBe('not-expired');
    expect(jobs.get('j1')?.status).toBe('RUNNING');
  });

  it('fails the lost attempt of a job with attempts left and schedules its retry by its backoff', async () => {
    const { ports, jobs, logs, sent } = fakes([running('j1')]);
    expect(await recoverExpiredLease('j1', ports)).toBe('recovered');
    // Due in 2 s, within SQS's delay: sent now, with the delay.
    expect(sent).toEqual(['j1']);
    expect(jobs.get('j1')).toMatchObject({
      status: 'FAILED',
      runAt: new Date(now.getTime() + 2_000).toISOString(),
    });
    expect(logs).toEqual([
      expect.stringMatching(/^Attempt 1 of 3 lost: Worker default:env-7 stopped heartbeating/),
    ]);
  });

  it("marks the attempt's worker lost, for jobs and robot steps alike (the worker.lost event)", async () => {
    const { ports, lostWorkers } = fakes([
      running('j1'),
      running('o1.calibrate', {
        kind: 'step',
        orderId: 'o1',
        taskToken: 'tok-1',
        workerId: 'calibration:env-2',
      }),
    ]);
    await recoverExpiredLease('j1', ports);
    await recoverExpiredLease('o1.calibrate', ports);
    expect(lostWorkers).toEqual(['default:env-7', 'calibration:env-2']);
  });

  it('keeps the recovery when the worker row cannot be marked, and logs why', async () => {
    const { ports, jobs, logs } = fakes([running('j1')]);
    ports.workers.markLost = async () => {
      throw new Error('throttled');
    };
    expect(await recoverExpiredLease('j1', ports)).toBe('recovered');
    expect(jobs.get('j1')?.status).toBe('FAILED');
    expect(logs.at(-1)).toBe('Could not mark worker default:env-7 lost: throttled');
  });

  it('cancels, not retries, a job whose cancel was asked while it ran and whose worker then died', async () => {
    const { ports, jobs, logs, sent } = fakes([running('j1', { cancelRequestedAt: minuteAgo })]);

    expect(await recoverExpiredLease('j1', ports)).toBe('recovered');

    expect(jobs.get('j1')?.status).toBe('CANCELLED');
    expect(sent).toEqual([]);
    expect(logs).toEqual([
      expect.stringMatching(/lost: Worker default:env-7 stopped heartbeating.*; job is CANCELLED$/),
    ]);
  });

  it('sends a job whose last attempt was lost to DEAD', async () => {
    const { ports, jobs } = fakes([running('j1', { attempts: 3 })]);
    await recoverExpiredLease('j1', ports);
    expect(jobs.get('j1')?.status).toBe('DEAD');
  });

  it("reports a robot step's lost attempt to its workflow as StepLost", async () => {
    const { ports, reported, jobs } = fakes([
      running('o1.calibrate', { kind: 'step', orderId: 'o1', taskToken: 'tok-1' }),
    ]);
    expect(await recoverExpiredLease('o1.calibrate', ports)).toBe('recovered');
    expect(reported).toEqual([{ token: 'tok-1', error: expect.stringMatching(/^Attempt 1 of 3 lost/) }]);
    expect(jobs.get('o1.calibrate')?.status).toBe('FAILED');
  });

  it('does nothing when another sweep settled the attempt first', async () => {
    const { ports, jobs, logs, lostWorkers } = fakes([running('j1')]);
    const original = ports.store.expireLease;
    ports.store.expireLease = async (job, ...rest) => {
      jobs.set(job.jobId, { ...job, leaseExpiresAt: now.getTime() + 30_000 }); // taken over meanwhile
      return original(job, ...rest);
    };
    expect(await recoverExpiredLease('j1', ports)).toBe('not-expired');
    expect(logs).toEqual([]);
    expect(lostWorkers).toEqual([]);
  });
});

describe('the outcome lease recovery tells (the outcome metrics)', () => {
  /** Due 45 s ago, started 40 s ago, silent since. */
  const lost = (jobId: string, extra: Partial<JobRecord> = {}) =>
    running(jobId, {
      runAt: new Date(now.getTime() - 45_000).toISOString(),
      startedAt: new Date(now.getTime() - 40_000).toISOString(),
      ...extra,
    });
  const step = {
    kind: 'step',
    queue: 'calibration',
    type: 'calibrate',
    orderId: 'o1',
    taskToken: 'tok-1',
  } as const;

  function telling(rows: JobRecord[]) {
    const f = fakes(rows);
    const told: SettledOutcome[] = [];
    const ports: LeaseRecoveryPorts = { ...f.ports, settled: (attempt) => void told.push(attempt) };
    return { ...f, ports, told };
  }

  it('tells a lost job attempt FAILED with its wait, and no run time (a vanished worker ran for a guess)', async () => {
    // Prepare
    const { ports, told } = telling([lost('j1')]);
    // Act
    await recoverExpiredLease('j1', ports);
    // Assess
    expect(told).toEqual([
      { queue: 'default', type: 'delayed_message', status: 'FAILED', attempt: 1, waitedMs: 5_000 },
    ]);
  });

  it("tells a job's lost last attempt DEAD, as the job worker would have", async () => {
    const { ports, told, jobs } = telling([lost('j1', { attempts: 3 })]);
    await recoverExpiredLease('j1', ports);
    expect(jobs.get('j1')?.status).toBe('DEAD');
    expect(told.map((t) => [t.queue, t.type, t.status])).toEqual([['default', 'delayed_message', 'DEAD']]);
  });

  it("tells a robot step's lost attempt by its line, FAILED, and DEAD when it was the step's last", async () => {
    const { ports, told } = telling([
      lost('o1.calibrate', step),
      lost('o2.calibrate', { ...step, attempts: 3 }),
    ]);
    await recoverExpiredLease('o1.calibrate', ports);
    await recoverExpiredLease('o2.calibrate', ports);
    expect(told).toEqual([
      { queue: 'calibration', type: 'calibrate', status: 'FAILED', attempt: 1, waitedMs: 5_000 },
      { queue: 'calibration', type: 'calibrate', status: 'DEAD', attempt: 3, waitedMs: 5_000 },
    ]);
  });

  it('tells nothing of a lease not yet run out, or of an attempt another sweep settled first', async () => {
    const { ports, told, jobs } = telling([lost('j1', { leaseExpiresAt: now.getTime() + 1 }), lost('j2')]);
    const original = ports.store.expireLease;
    ports.store.expireLease = async (job, ...rest) => {
      jobs.set(job.jobId, { ...job, leaseExpiresAt: now.getTime() + 30_000 });
      return original(job, ...rest);
    };
    expect(await recoverExpiredLease('j1', ports)).toBe('not-expired');
    expect(await recoverExpiredLease('j2', ports)).toBe('not-expired');
    expect(told).toEqual([]);
  });

  it('settles the attempt whatever telling it throws', async () => {
    const { ports, jobs, sent } = fakes([lost('j1')]);
    const throwing: LeaseRecoveryPorts = {
      ...ports,
      settled: () => {
        throw new RangeError('too many dimensions');
      },
    };
    expect(await recoverExpiredLease('j1', throwing)).toBe('recovered');
    expect(jobs.get('j1')?.status).toBe('FAILED');
    expect(sent).toEqual(['j1']);
  });
});
