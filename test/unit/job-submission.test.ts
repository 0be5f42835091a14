import { describe, expect, it } from 'vitest';
import { dispatchPlan, failureClassOf, settleFailure } from '../../functions/domain/job-lifecycle.ts';
import { classify, tallyBands } from '../../functions/domain/job-overview.ts';
import {
  externalDependencies,
  findCycle,
  JobRejected,
  type JobRequest,
  jobIdForKey,
  jobRequestSchema,
  planJobs,
} from '../../functions/domain/job-submission.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { jobTypes } from '../../functions/job-types/index.ts';

const now = new Date('2026-11-22T12:00:00.000Z');
let counter = 0;
const request = (over: Record<string, unknown>): JobRequest =>
  jobRequestSchema.parse({ queue: 'default', type: 'delayed_message', payload: { message: 'hi' }, ...over });
const plan = (requests: JobRequest[], dependencies = new Map()) =>
  planJobs(requests, {
    now,
    jobTypes,
    dependencies,
    indexed: requests.length > 1,
    newJobId: () => `job_${++counter}`,
  });
const rejection = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof JobRejected) return error;
    throw error;
  }
  throw new Error('not rejected');
};

describe('planning submitted jobs', () => {
  it('queues a plain job with the type defaults', () => {
    const [job] = plan([request({})]);
    expect(job).toMatchObject({
      status: 'QUEUED',
      priority: 5,
      attempts: 0,
      maxAttempts: 3,
      timeoutMs: 60_000,
      runAt: now.toISOString(),
    });
  });

  it('keeps a delayed job PENDING until its runAt', () => {
    const [job] = plan([request({ delayMs: 3 * 86_400_000 })]);
    expect(job?.status).toBe('PENDING');
    expect(job?.runAt).toBe('2026-11-25T12:00:00.000Z');
  });

  it('derives the id from the idempotency key', () => {
    const [a] = plan([request({ idempotencyKey: 'order-42-mail' })]);
    expect(a?.jobId).toBe(jobIdForKey('order-42-mail'));
    expect(
      rejection(() => plan([request({ idempotencyKey: 'k' }), request({ idempotencyKey: 'k' })])).code,
    ).toBe('DUPLICATE_IDEMPOTENCY_KEY');
  });

  it('rejects unknown queues, types a queue does not take, production lines and bad payloads', () => {
    expect(rejection(() => plan([request({ queue: 'nowhere' })])).code).toBe('UNKNOWN_QUEUE');
    expect(rejection(() => plan([request({ queue: 'media' })])).code).toBe('JOB_TYPE_NOT_ACCEPTED');
    expect(rejection(() => plan([request({ queue: 'packaging', type: 'package_robot' })])).code).toBe(
      'QUEUE_NOT_SUBMITTABLE',
    );
    expect(rejection(() => plan([request({ type: 'teleport' })])).code).toBe('UNKNOWN_JOB_TYPE');
    const bad = rejection(() =>
      plan([request({ type: 'send_email', payload: { to: 'not-an-address', subject: 's', body: 'b' } })]),
    );
    expect(bad.code).toBe('INVALID_PAYLOAD');
    expect(bad.details).toEqual([expect.objectContaining({ path: 'payload.to' })]);
  });

  it('rejects payloads over the size limit', () => {
    const big = rejection(() => plan([request({ payload: { message: 'x'.repeat(140_000) } })]));
    expect(big.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('blocks a job on dependencies that have not completed, and resolves refs within a request', () => {
    const dependencies = new Map([
      ['job_done', { status: 'COMPLETED' as const, kind: 'job' as const }],
      ['job_busy', { status: 'RUNNING' as const, kind: 'job' as const }],
    ]);
    const [first, second] = plan(
      [request({ ref: 'first', dependsOn: ['job_done'] }), request({ dependsOn: ['first', 'job_busy'] })],
      dependencies,
    );
    expect(first?.status).toBe('QUEUED');
    expect(first?.waitingOn).toBeUndefined();
    expect(second?.status).toBe('PENDING');
    expect([...(second?.waitingOn ?? [])].sort()).toEqual([first?.jobId, 'job_busy'].sort());
  });

  it('cancels at birth a job whose dependency is already DEAD or CANCELLED', () => {
    const [job] = plan(
      [request({ dependsOn: ['job_dead'] })],
      new Map([['job_dead', { status: 'DEAD', kind: 'job' }]]),
    );
    expect(job).toMatchObject({ status: 'CANCELLED', cancelReason: 'Dependency job_dead ended DEAD' });
  });

  it('rejects unknown dependencies and cycles', () => {
    expect(rejection(() => plan([request({ dependsOn: ['job_ghost'] })])).code).toBe('UNKNOWN_DEPENDENCY');
    const cycle = rejection(() =>
      plan([
        request({ ref: 'a', dependsOn: ['c'] }),
        request({ ref: 'b', dependsOn: ['a'] }),
        request({ ref: 'c', dependsOn: ['b'] }),
      ]),
    );
    expect(cycle.code).toBe('DEPENDENCY_CYCLE');
    expect(findCycle([request({ ref: 'self', dependsOn: ['self'] })])).toEqual(['self', 'self']);
  });

  it('asks the caller only for dependencies that are not refs of the request', () => {
    expect(externalDependencies([request({ ref: 'a' }), request({ dependsOn: ['a', 'job_x'] })])).toEqual([
      'job_x',
    ]);
  });
});

describe('dispatch plans', () => {
  it('sends due jobs now and short delays with DelaySeconds', () => {
    expect(dispatchPlan({ runAt: now.toISOString() }, now, 15_000)).toEqual({
      sendDelaySeconds: 0,
      dispatchAt: '2026-11-22T12:00:15.000Z',
    });
    expect(dispatchPlan({ runAt: '2026-11-22T12:10:00.500Z' }, now, 15_000).sendDelaySeconds).toBe(601);
  });

  it('parks delays beyond SQS reach in the marker index until 14 minutes before they are due', () => {
    expect(dispatchPlan({ runAt: '2026-11-23T12:00:00.000Z' }, now, 15_000)).toEqual({
      dispatchAt: '2026-11-23T11:46:00.000Z',
    });
  });

  it('sends nothing for a blocked job', () => {
    expect(
      dispatchPlan({ runAt: now.toISOString(), waitingOn: new Set(['a']) }, now, 15_000).sendDelaySeconds,
    ).toBeUndefined();
  });
});

describe('settling a failed attempt', () => {
  const job = {
    attempts: 2,
    maxAttempts: 3,
    backoff: { type: 'linear', delayMs: 1000, maxDelayMs: 60_000, jitter: false },
  } as JobRecord;
  it('schedules the retry per the policy while attempts remain', () => {
    expect(settleFailure(job, 'boom', false, now, Math.random)).toEqual({
      status: 'FAILED',
      error: 'boom',
      retryInMs: 2000,
      runAt: '2026-11-22T12:00:02.000Z',
      failure: { n: 2, c: failureClassOf('boom'), at: now.toISOString() },
    });
  });
  it('goes DEAD when attempts are used up or the error is permanent', () => {
    expect(settleFailure({ ...job, attempts: 3 }, 'boom', false, now, Math.random).status).toBe('DEAD');
    expect(settleFailure({ ...job, attempts: 1 }, 'bad input', true, now, Math.random).status).toBe('DEAD');
  });
});

describe('queue overview', () => {
  it('classifies jobs into waiting, delayed, blocked and running per priority band', () => {
    const at = now.getTime();
    const jobs = [
      {
        status: 'QUEUED',
        priority: 0,
        runAt: '2026-11-22T11:59:00.000Z',
        createdAt: '2026-11-22T11:59:00.000Z',
      },
      { status: 'PENDING', priority: 9, runAt: '2026-11-22T13:00:00.000Z', createdAt: now.toISOString() },
      {
        status: 'PENDING',
        priority: 9,
        runAt: now.toISOString(),
        createdAt: now.toISOString(),
        waitingOn: new Set(['x']),
      },
      { status: 'RUNNING', priority: 4, runAt: now.toISOString(), createdAt: now.toISOString() },
    ] as const;
    expect(classify(jobs[1] as never, at)).toBe('delayed');
    const bands = tallyBands(jobs as never, at);
    expect(bands.urgent).toMatchObject({ waiting: 1, oldestWaitingAgeMs: 60_000 });
    expect(bands.low).toMatchObject({ delayed: 1, blocked: 1, waiting: 0 });
    expect(bands.normal).toMatchObject({ running: 1 });
  });
});
