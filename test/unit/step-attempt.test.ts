import { describe, expect, it } from 'vitest';
import type { SettledOutcome } from '../../functions/domain/job-outcome-metrics.ts';
import type { JobLogEntry, JobRecord } from '../../functions/domain/jobs.ts';
import {
  attemptTokenOf,
  type ClaimOutcome,
  type ClaimRequest,
  dispatchSequenceOf,
  runStepAttempt,
  type StepFinish,
  type StepMessage,
  type StepPorts,
  simulatedFailure,
} from '../../functions/domain/step-attempt.ts';

/** The job store's conditional writes, in memory: same conditions as the DynamoDB adapter. */
class MemoryJobs {
  readonly rows = new Map<string, JobRecord>();
  cancelRequested = false;

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const { jobId, attemptToken, taskToken, dispatchSeq, workerId, now, leaseMs, seed, dueAt } = request;
    const row = this.rows.get(jobId);
    const finished = row && ['COMPLETED', 'DEAD', 'CANCELLED'].includes(row.status);
    if ((row?.dispatchSeq === undefined || row.dispatchSeq < dispatchSeq) && !finished) {
      const job: JobRecord = {
        ...seed,
        ...row,
        status: 'RUNNING',
        attempts: (row?.attempts ?? 0) + 1,
        attemptToken,
        taskToken,
        dispatchSeq,
        workerId,
        leaseExpiresAt: now.getTime() + leaseMs,
        ...(dueAt ? { runAt: dueAt.toISOString() } : {}),
      } as JobRecord;
      this.rows.set(jobId, job);
      return { kind: 'claimed', job };
    }
    if (
      row?.attemptToken === attemptToken &&
      row.status === 'RUNNING' &&
      (row.leaseExpiresAt ?? 0) < now.getTime()
    ) {
      const job = { ...row, workerId, leaseExpiresAt: now.getTime() + leaseMs };
      this.rows.set(jobId, job);
      return { kind: 'claimed', job };
    }
    return { kind: 'taken', job: row as JobRecord };
  }

  async extendLease(jobId: string, attemptToken: string) {
    const row = this.rows.get(jobId);
    if (row?.attemptToken !== attemptToken || row.status !== 'RUNNING') return 'lost' as const;
    return this.cancelRequested ? ('cancel-requested' as const) : ('ok' as const);
  }

  async finish(jobId: string, attemptToken: string, outcome: StepFinish) {
    const row = this.rows.get(jobId);
    if (row?.attemptToken !== attemptToken || row.status !== 'RUNNING') return false;
    this.rows.set(jobId, {
      ...row,
      status: outcome.status,
      ...(outcome.status === 'COMPLETED' ? { completedAt: outcome.at } : {}),
      ...(outcome.status === 'FAILED' ? { lastError: outcome.error } : {}),
    });
    return true;
  }
}

function harness() {
  const jobs = new MemoryJobs();
  const logs: JobLogEntry[] = [];
  const reports: string[] = [];
  let clock = Date.parse('2026-11-22T10:00:00Z');
  const ports: StepPorts = {
    jobs,
    logs: { append: async (_id, entry) => void logs.push(entry) },
    orders: { markInProgress: async () => {} },
    workflow: {
      stepSucceeded: async (token) => void reports.push(`success:${token}`),
      stepFailed: async (token, error) => void reports.push(`failure:${token}:${error}`),
    },
    worker: { busy: async () => {}, idle: async () => {} },
    clock: {
      now: () => new Date(clock),
      sleep: async (ms) => {
        clock += ms;
      },
    },
    workerId: 'w1',
  };
  return { jobs, logs, reports, ports, advance: (ms: number) => (clock += ms) };
}

const executionStartedAt = '2026-11-22T09:59:00.000Z';
const message = (
  taskToken: string,
  simulate: StepMessage['simulate'] = {},
  retryCount = 0,
  startedAt = executionStartedAt,
): StepMessage => ({
  taskToken,
  retryCount,
  executionStartedAt: startedAt,
  orderId: 'ord_1',
  robotType: 'companion',
  stepName: 'calibrate',
  jobType: 'calibrate',
  priority: 5,
  simulate,
});
const settings = { leaseMs: 30_000, heartbeatEveryMs: 10_000 };

describe('runStepAttempt', () => {
  it('runs the step, records it COMPLETED and reports success to the workflow', async () => {
    const { jobs, logs, reports, ports } = harness();
    expect(await runStepAttempt(message('t1'), ports, settings)).toBe('completed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({
      status: 'COMPLETED',
      attempts: 1,
      maxAttempts: 3,
      queue: 'calibration',
    });
    expect(reports).toEqual(['success:t1']);
    // A short attempt that completes: one line for its start and its end.
    expect(logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on calibration: Calibrate microphones and face tracking.; completed in 300 ms',
    ]);
  });

  it('writes the start line on its own for a long step, and before a failure', async () => {
    const long = harness();
    await runStepAttempt(message('t1', { stepDurationMs: 1_500 }), long.ports, settings);
    expect(long.logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on calibration: Calibrate microphones and face tracking.',
      'Attempt 1 of 3 completed in 1500 ms',
    ]);
    const failing = harness();
    await runStepAttempt(message('t1', { failures: { calibrate: 1 } }), failing.ports, settings);
    expect(failing.logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on calibration: Calibrate microphones and face tracking.',
      expect.stringMatching(/^Attempt 1 of 3 failed/),
    ]);
    expect(failing.logs[0]?.timestamp).toBe('2026-11-22T10:00:00.000Z');
  });

  it('marks the order in progress only from its first stage, and keeps when the step was due', async () => {
    const { ports, jobs } = harness();
    const marked: string[] = [];
    ports.orders.markInProgress = async (orderId) => void marked.push(orderId);
    const sentAt = new Date('2026-11-22T09:59:58.000Z');
    await runStepAttempt(message('t1'), ports, settings, { sentAt });
    expect(marked).toEqual([]); // calibrate is the fourth stage of a companion
    await runStepAttempt(
      { ...message('t2'), stepName: 'fabricate_parts', jobType: 'fabricate_parts' },
      ports,
      settings,
    );
    expect(marked).toEqual(['ord_1']);
    // The message's send time is the row's runAt: the analytics measure the step's wait from it.
    expect(jobs.rows.get('ord_1.calibrate')?.runAt).toBe(sentAt.toISOString());
  });

  it('answers a duplicate of a finished attempt from the record, without running the step again', async () => {
    const { logs, reports, ports } = harness();
    await runStepAttempt(message('t1'), ports, settings);
    expect(await runStepAttempt(message('t1'), ports, settings)).toBe('duplicate-reported');
    expect(logs.filter((l) => l.message.includes('started'))).toHaveLength(1);
    expect(reports).toEqual(['success:t1', 'success:t1']);
  });

  it('leaves a duplicate alone while another worker holds a live lease, and takes over once it lapses', async () => {
    const { jobs, ports, advance } = harness();
    jobs.rows.set('ord_1.calibrate', {
      jobId: 'ord_1.calibrate',
      status: 'RUNNING',
      attempts: 1,
      maxAttempts: 3,
      attemptToken: attemptTokenOf('t1'),
      dispatchSeq: dispatchSequenceOf(message('t1')),
      leaseExpiresAt: Date.parse('2026-11-22T10:00:10Z'),
    } as JobRecord);
    expect(await runStepAttempt(message('t1'), ports, settings)).toBe('in-flight-elsewhere');
    advance(20_000);
    expect(await runStepAttempt(message('t1'), ports, settings)).toBe('completed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  });

  it('counts a retry as the next attempt and fails it as the simulation says, with attempt numbers that are true', async () => {
    const { jobs, reports, ports } = harness();
    const simulate = { failures: { calibrate: 1 } };
    expect(await runStepAttempt(message('t1', simulate), ports, settings)).toBe('failed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({
      status: 'FAILED',
      lastError: 'Attempt 1 of 3 failed: Simulated failure of calibrate',
    });
    expect(await runStepAttempt(message('t2', simulate, 1), ports, settings)).toBe('completed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(reports).toEqual(['failure:t1:StepFailed', 'success:t2']);
  });

  it('tells a retry from a duplicate when an engine reuses the task token across retries', async () => {
    const { jobs, ports } = harness();
    const simulate = { failures: { calibrate: 1 } };
    expect(await runStepAttempt(message('t1', simulate, 0), ports, settings)).toBe('failed');
    expect(await runStepAttempt(message('t1', simulate, 0), ports, settings)).toBe('duplicate-reported');
    expect(await runStepAttempt(message('t1', simulate, 1), ports, settings)).toBe('completed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  });

  it('drops a superseded delivery: an older dispatch that surfaces after a newer one ran', async () => {
    const { jobs, logs, reports, ports } = harness();
    const simulate = { failures: { calibrate: 'always' as const } };
    await runStepAttempt(message('t1', simulate, 0), ports, settings);
    await runStepAttempt(message('t2', simulate, 1), ports, settings);
    // A copy of the first dispatch's message (say, redelivered after its visibility timeout).
    expect(await runStepAttempt(message('t1', simulate, 0), ports, settings)).toBe('superseded');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(reports).toEqual(['failure:t1:StepFailed', 'failure:t2:StepFailed']);
    expect(logs.at(-1)?.message).toMatch(/Superseded delivery dropped/);
  });

  it('a resumed execution answers a step that already completed with success, without re-running it', async () => {
    const { logs, reports, ports } = harness();
    await runStepAttempt(message('t1'), ports, settings);
    const resumed = message('t2', {}, 0, '2026-11-22T11:00:00.000Z');
    expect(await runStepAttempt(resumed, ports, settings)).toBe('duplicate-reported');
    expect(reports).toEqual(['success:t1', 'success:t2']);
    expect(logs.filter((l) => l.message.includes('started'))).toHaveLength(1);
  });

  it('times an attempt out after the step timeout: StepTimedOut, an attempt of its own', async () => {
    const { jobs, reports, ports } = harness();
    // calibrate allows 300 s per attempt.
    expect(await runStepAttempt(message('t1', { stepDurationMs: 400_000 }), ports, settings)).toBe('failed');
    expect(jobs.rows.get('ord_1.calibrate')).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      lastError: 'Attempt 1 of 3 timed out after 300 s',
    });
    expect(reports).toEqual(['failure:t1:StepTimedOut']);
  });

  it('stops a running attempt at its next heartbeat when its order is cancelled, and reports nothing', async () => {
    const { jobs, reports, ports } = harness();
    jobs.cancelRequested = true;
    expect(await runStepAttempt(message('t1', { stepDurationMs: 35_000 }), ports, settings)).toBe(
      'cancelled',
    );
    expect(jobs.rows.get('ord_1.calibrate')?.status).toBe('CANCELLED');
    expect(reports).toEqual([]);
  });
});

describe('the outcome a step attempt tells (the outcome metrics)', () => {
  /** The harness, its worker telling each settled attempt to `told`. */
  function telling() {
    const h = harness();
    const told: SettledOutcome[] = [];
    const ports: StepPorts = { ...h.ports, settled: (attempt) => void told.push(attempt) };
    return { ...h, ports, told };
  }

  it('tells a completed step with its line, type, run time and wait since its message was sent', async () => {
    // Prepare: the message was sent two seconds before the worker took it.
    const { ports, told } = telling();
    const sentAt = new Date('2026-11-22T09:59:58.000Z');
    // Act
    const outcome = await runStepAttempt(message('t1', { stepDurationMs: 1_500 }), ports, settings, {
      sentAt,
    });
    // Assess
    expect(outcome).toBe('completed');
    expect(told).toEqual([
      {
        queue: 'calibration',
        type: 'calibrate',
        status: 'COMPLETED',
        attempt: 1,
        ranMs: 1_500,
        waitedMs: 2_000,
      },
    ]);
  });

  it('tells failed attempts FAILED while retries are left and the last one DEAD, as the workflow will record it', async () => {
    const { ports, told } = telling();
    const simulate = { failures: { calibrate: 'always' as const } };
    for (const [token, retry] of [
      ['t1', 0],
      ['t2', 1],
      ['t3', 2],
    ] as const)
      expect(await runStepAttempt(message(token, simulate, retry), ports, settings)).toBe('failed');
    expect(told.map((t) => [t.attempt, t.status])).toEqual([
      [1, 'FAILED'],
      [2, 'FAILED'],
      [3, 'DEAD'],
    ]);
    // Without the message's send time, no wait is told.
    expect(told.every((t) => t.waitedMs === undefined && t.ranMs === 300)).toBe(true);
  });

  it('tells a timed-out attempt as failed, after the time it was given', async () => {
    const { ports, told } = telling();
    await runStepAttempt(message('t1', { stepDurationMs: 400_000 }), ports, settings);
    expect(told).toEqual([expect.objectContaining({ status: 'FAILED', ranMs: 300_000 })]);
  });

  it('tells a step stopped by its order being cancelled CANCELLED', async () => {
    const { jobs, ports, told } = telling();
    jobs.cancelRequested = true;
    await runStepAttempt(message('t1', { stepDurationMs: 35_000 }), ports, settings);
    expect(told).toEqual([expect.objectContaining({ status: 'CANCELLED', ranMs: 10_000 })]);
  });

  it('tells nothing for a delivery that settles no attempt: a duplicate, a superseded or a lost one', async () => {
    // Prepare: calibrate completed, quality_check's second dispatch failed.
    const { ports, told } = telling();
    const quality = (token: string, retry: number) => ({
      ...message(token, { failures: { quality_check: 'always' } }, retry),
      stepName: 'quality_check',
      jobType: 'quality_check',
    });
    await runStepAttempt(message('t1'), ports, settings);
    await runStepAttempt(quality('q2', 1), ports, settings);
    told.length = 0;
    // Act: a duplicate of the completed attempt, and the older dispatch surfacing late.
    expect(await runStepAttempt(message('t1'), ports, settings)).toBe('duplicate-reported');
    expect(await runStepAttempt(quality('q1', 0), ports, settings)).toBe('superseded');
    // Assess
    expect(told).toEqual([]);
  });

  it('leaves the telling to whoever settles an attempt whose lease was taken over', async () => {
    const { jobs, ports, told } = telling();
    jobs.extendLease = async () => 'lost' as const;
    expect(await runStepAttempt(message('t1', { stepDurationMs: 25_000 }), ports, settings)).toBe(
      'lost-ownership',
    );
    expect(told).toEqual([]);
  });

  it('settles the step whatever telling it throws', async () => {
    const { ports, reports } = harness();
    const throwing: StepPorts = {
      ...ports,
      settled: () => {
        throw new RangeError('too many dimensions');
      },
    };
    expect(await runStepAttempt(message('t1'), throwing, settings)).toBe('completed');
    expect(reports).toEqual(['success:t1']);
  });
});

describe('simulatedFailure', () => {
  it.each([
    [{ failures: { calibrate: 2 } }, [true, true, false]],
    [{ failures: { calibrate: 'always' as const } }, [true, true, true]],
    [{ failures: { other: 1 } }, [false, false, false]],
    [{}, [false, false, false]],
  ])('%j fails attempts 1–3 as %j', (simulate, expected) => {
    expect([1, 2, 3].map((attempt) => simulatedFailure(simulate, 'calibrate', attempt))).toEqual(expected);
  });
});
