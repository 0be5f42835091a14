/** Job outcome metrics: what a settled attempt tells, and the EMF line written of it. */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runJobAttempt, type SettledAttempt } from '../../functions/domain/job-lifecycle.ts';
import { jobMetricsNamespace, jobOutcomeMetricsOf } from '../../functions/domain/job-outcome-metrics.ts';
import { type JobType, PermanentJobError } from '../../functions/job-types/job-type.ts';
import { publishJobOutcome } from '../../functions/shared/metrics.ts';
import { attemptHarness, now, queuedJob } from './fixtures/attempt-harness.ts';

const settings = { leaseMs: 30_000, heartbeatEveryMs: 5_000 };
const failing: JobType = {
  name: 'always_fails',
  description: 'fails for good',
  payload: { safeParse: () => ({ success: true }) } as unknown as JobType['payload'],
  defaults: { maxAttempts: 1, timeoutMs: 1_000 },
  run: async () => {
    throw new PermanentJobError('no such mailbox');
  },
};

afterEach(() => vi.restoreAllMocks());

describe('an attempt settled by the job worker', () => {
  it('is told with its queue, type, outcome, run time and wait since it was due', async () => {
    // Prepare: due two seconds before the worker took it.
    const job = { ...queuedJob('j1', 5), runAt: new Date(now.getTime() - 2_000).toISOString() };
    const { ports } = attemptHarness([job]);
    const settled: SettledAttempt[] = [];
    // Act
    const outcome = await runJobAttempt(
      { jobId: 'j1', priority: 5 },
      'default',
      {
        ...ports,
        settled: (attempt) => settled.push(attempt),
      },
      settings,
    );
    // Assess
    expect(outcome).toBe('completed');
    expect(settled).toEqual([
      {
        queue: 'default',
        type: 'delayed_message',
        status: 'COMPLETED',
        attempt: 1,
        ranMs: expect.any(Number),
        waitedMs: 2_000,
      },
    ]);
  });

  it('is told DEAD when its last attempt fails, and a failing metric never fails the attempt', async () => {
    const { ports } = attemptHarness([{ ...queuedJob('j2', 5, failing.name), maxAttempts: 1 }], {
      types: new Map([[failing.name, failing]]),
    });
    const told: string[] = [];
    const outcome = await runJobAttempt(
      { jobId: 'j2', priority: 5 },
      'default',
      {
        ...ports,
        settled: (attempt) => {
          told.push(attempt.status);
          throw new RangeError('too many dimensions');
        },
      },
      settings,
    );
    expect(outcome).toBe('dead');
    expect(told).toEqual(['DEAD']);
  });
});

describe('the outcome metrics of an attempt', () => {
  const attempt = (status: SettledAttempt['status']): SettledAttempt => ({
    queue: 'notifications',
    type: 'send_email',
    status,
    attempt: 2,
    ranMs: 120,
    waitedMs: 900,
  });
  const counts = (status: SettledAttempt['status']) =>
    jobOutcomeMetricsOf(attempt(status))
      .metrics.filter((m) => m.unit === 'Count')
      .map((m) => m.name);

  it('counts completed, failed, and dead (a dead job failed too), as the analytics do', () => {
    expect(counts('COMPLETED')).toEqual(['JobsCompleted']);
    expect(counts('FAILED')).toEqual(['JobsFailed']);
    expect(counts('DEAD')).toEqual(['JobsFailed', 'JobsDead']);
    expect(counts('CANCELLED')).toEqual([]);
  });

  it('is one EMF line in the RobotFactory namespace with service, queue and type as its dimensions', () => {
    // Prepare: Powertools Metrics writes its line to stdout.
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const metrics = new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' });
    // Act: two attempts of different queues, one after the other in the same environment.
    publishJobOutcome(attempt('DEAD'), metrics);
    publishJobOutcome({ ...attempt('COMPLETED'), queue: 'reports', type: 'generate_report' }, metrics);
    // Assess
    const [dead, completed] = lines.map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(dead._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'RobotFactory',
        Dimensions: [['service', 'queue', 'type']],
        Metrics: expect.arrayContaining([
          { Name: 'JobsFailed', Unit: 'Count' },
          { Name: 'JobsDead', Unit: 'Count' },
          { Name: 'JobRunTime', Unit: 'Milliseconds' },
          { Name: 'JobWaitTime', Unit: 'Milliseconds' },
        ]),
      },
    ]);
    expect(dead).toMatchObject({
      service: 'robot-factory',
      queue: 'notifications',
      type: 'send_email',
      JobsFailed: 1,
      JobsDead: 1,
      JobRunTime: 120,
      JobWaitTime: 900,
    });
    expect(dead.JobsCompleted).toBeUndefined();
    expect(completed).toMatchObject({ queue: 'reports', type: 'generate_report', JobsCompleted: 1 });
    expect(completed.JobsDead).toBeUndefined();
  });

  it("writes a step's line with its production line as the queue, and a lost attempt's without a run time", () => {
    // Prepare
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const metrics = new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' });
    // Act: a step's last attempt failed on its line; a job attempt lease recovery found lost;
    // a cancel nobody timed (nothing to count or time).
    publishJobOutcome(
      { queue: 'calibration', type: 'calibrate', status: 'DEAD', attempt: 3, ranMs: 300, waitedMs: 2_000 },
      metrics,
    );
    publishJobOutcome(
      { queue: 'default', type: 'send_email', status: 'FAILED', attempt: 1, waitedMs: 50 },
      metrics,
    );
    publishJobOutcome({ queue: 'default', type: 'send_email', status: 'CANCELLED', attempt: 1 }, metrics);
    // Assess
    expect(lines).toHaveLength(2);
    const [step, lost] = lines.map((line) => JSON.parse(line));
    expect(step._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'queue', 'type']]);
    expect(step).toMatchObject({
      queue: 'calibration',
      type: 'calibrate',
      JobsFailed: 1,
      JobsDead: 1,
      JobRunTime: 300,
      JobWaitTime: 2_000,
    });
    expect(lost._aws.CloudWatchMetrics[0].Metrics).toEqual([
      { Name: 'JobsFailed', Unit: 'Count' },
      { Name: 'JobWaitTime', Unit: 'Milliseconds' },
    ]);
    expect(lost).toMatchObject({ queue: 'default', type: 'send_email', JobsFailed: 1, JobWaitTime: 50 });
    expect(lost.JobRunTime).toBeUndefined();
  });
});
