/** Job outcome metrics: what a settled attempt tells, and the EMF line written of it. */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runJobAttempt, type SettledAttempt } from '../../functions/domain/job-lifecycle.ts';
import { jobMetricsNamespace, jobOutcomeMetricsOf } from '../../functions/domain/job-outcome-metrics.ts';
import { type JobType, PermanentJobError } from '../../functions/job-types/job-type.ts';
import { HeldJobOutcomes, publishJobOutcome } from '../../functions/shared/metrics.ts';
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

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Powertools Metrics writes its lines to stdout: what it wrote, one entry a line. */
function captureStdout(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

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
    const lines = captureStdout();
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
    const lines = captureStdout();
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

describe("a job worker's held outcome lines", () => {
  const done = (queue: string, type: string, ranMs: number): SettledAttempt => ({
    queue,
    type,
    status: 'COMPLETED',
    attempt: 1,
    ranMs,
    waitedMs: ranMs * 10,
  });

  it('are written at the flush, one per queue and type, with every attempt a sample', () => {
    // Prepare
    const lines = captureStdout();
    const held = new HeldJobOutcomes(
      new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' }),
    );
    // Act: three attempts of one type, a dead one of another, and a cancel nobody timed.
    held.add(done('default', 'delayed_message', 1));
    held.add(done('reports', 'generate_report', 40));
    held.add(done('default', 'delayed_message', 2));
    held.add({
      queue: 'reports',
      type: 'generate_report',
      status: 'DEAD',
      attempt: 3,
      ranMs: 50,
      waitedMs: 7,
    });
    held.add(done('default', 'delayed_message', 3));
    held.add({ queue: 'default', type: 'send_email', status: 'CANCELLED', attempt: 1 });
    const beforeFlush = lines.length;
    held.flush();
    // Assess: nothing before the flush; no line for the cancel; samples in the order told.
    expect(beforeFlush).toBe(0);
    expect(lines).toHaveLength(2);
    const [noOps, reports] = lines.map((line) => JSON.parse(line));
    expect(noOps._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'queue', 'type']]);
    expect(noOps).toMatchObject({
      queue: 'default',
      type: 'delayed_message',
      JobsCompleted: [1, 1, 1],
      JobRunTime: [1, 2, 3],
      JobWaitTime: [10, 20, 30],
    });
    expect(reports).toMatchObject({
      queue: 'reports',
      type: 'generate_report',
      JobsCompleted: 1,
      JobsFailed: 1,
      JobsDead: 1,
      JobRunTime: [40, 50],
      JobWaitTime: [400, 7],
    });
    // Assess: flushed, nothing is held any more.
    held.flush();
    expect(lines).toHaveLength(2);
  });

  it("split a long batch into lines under EMF's 100 values a metric, each with its dimensions", () => {
    // Prepare
    const lines = captureStdout();
    const held = new HeldJobOutcomes(
      new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' }),
    );
    // Act
    for (let i = 0; i < 250; i++) held.add(done('default', 'delayed_message', i));
    held.flush();
    // Assess: every sample once, in order; each line declares and carries the dimensions.
    const written = lines.map((line) => JSON.parse(line));
    expect(written.map((line) => line.JobRunTime.length)).toEqual([99, 99, 52]);
    expect(written.flatMap((line) => line.JobRunTime)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    for (const line of written) {
      expect(line._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'queue', 'type']]);
      expect(line).toMatchObject({ service: 'robot-factory', queue: 'default', type: 'delayed_message' });
    }
  });

  it('are written a second after the first is held, without waiting for the end of the invocation', () => {
    // Prepare: a long job runs after the batch-mates that settled: no flush comes for minutes.
    vi.useFakeTimers();
    const lines = captureStdout();
    const held = new HeldJobOutcomes(
      new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' }),
      1_000,
    );
    // Act
    held.add(done('default', 'delayed_message', 1));
    vi.advanceTimersByTime(600);
    held.add(done('default', 'delayed_message', 2));
    vi.advanceTimersByTime(399);
    const within = lines.length;
    vi.advanceTimersByTime(1);
    // Assess: one line with both, a second after the first; nothing held is written twice.
    expect(within).toBe(0);
    expect(lines.map((line) => JSON.parse(line).JobRunTime)).toEqual([[1, 2]]);
    held.flush();
    vi.advanceTimersByTime(5_000);
    expect(lines).toHaveLength(1);
  });

  it('drop a line that fails, and nothing of it reaches the next one', () => {
    // Prepare: a run time that is not a number (Powertools refuses it) in one group.
    const lines = captureStdout();
    const held = new HeldJobOutcomes(
      new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' }),
    );
    held.add(done('default', 'delayed_message', 1));
    held.add({ ...done('reports', 'generate_report', 2), ranMs: 'slow' as unknown as number });
    held.add(done('media', 'resize_image', 3));
    // Act
    expect(() => held.flush()).not.toThrow();
    // Assess: the two good groups, each with its own dimensions and values only.
    const written = lines.map((line) => JSON.parse(line));
    expect(written.map((line) => [line.queue, line.type, line.JobRunTime, line.JobsCompleted])).toEqual([
      ['default', 'delayed_message', 1, 1],
      ['media', 'resize_image', 3, 1],
    ]);
  });
});
