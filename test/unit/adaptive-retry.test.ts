import { describe, expect, it } from 'vitest';
import {
  adaptiveRetry,
  errorClassId,
  evidenceOf,
  retryLessonsOf,
  tallyLessons,
} from '../../functions/domain/adaptive-retry.ts';
import { backoffSchema } from '../../functions/domain/backoff.ts';
import { failureClassOf, settleFailure } from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { compareRetryPolicies } from '../../localstack/bench/retry-workload.ts';

const policy = { delayMs: 1000, maxDelayMs: 60_000, jitter: false };
const never = () => 0.99; // no exploring retry
const tally = (retried: number, recovered: number, recovery: Record<number, number> = {}) =>
  new Map([[1, { retried, recovered, recovery }]]);

describe('adaptive retry: the Beta-Binomial estimate', () => {
  it('without evidence retries on the exponential base schedule at the prior ½', () => {
    const d = adaptiveRetry(policy, 2, undefined, never);
    expect(d).toMatchObject({
      retry: true,
      delayMs: 2000,
      successProbability: 0.5,
      delayFrom: 'base-schedule',
    });
  });

  it('is the posterior mean (s + 2) / (r + 4)', () => {
    expect(adaptiveRetry(policy, 1, tally(6, 3), never).successProbability).toBeCloseTo(5 / 10);
    expect(adaptiveRetry(policy, 1, tally(16, 0), never).successProbability).toBeCloseTo(2 / 20);
    expect(adaptiveRetry(policy, 1, tally(96, 96), never).successProbability).toBeCloseTo(98 / 100);
  });

  it('stops below the threshold (10% by default): 17 retries that all failed, not 16', () => {
    expect(adaptiveRetry(policy, 1, tally(16, 0), never).retry).toBe(true); // exactly 10%
    const stop = adaptiveRetry(policy, 1, tally(17, 0), never);
    expect(stop.retry).toBe(false);
    expect(stop.explanation).toContain('0 of 17 retries of this error class after attempt 1 recovered');
    expect(stop.explanation).toContain('9.5%');
    expect(adaptiveRetry({ ...policy, minSuccessProbability: 0.05 }, 1, tally(17, 0), never).retry).toBe(
      true,
    );
  });

  it('makes an exploring retry now and then against the estimate', () => {
    const d = adaptiveRetry(policy, 1, tally(40, 0), () => 0.01);
    expect(d).toMatchObject({ retry: true, explored: true });
  });

  it('waits the p75 time-to-recovery once 3 recoveries are seen, capped at maxDelayMs', () => {
    // 4 recoveries in the bucket of ~6.7 s (bucket 51 = 2^(50.5/4) ms).
    const d = adaptiveRetry(policy, 1, tally(4, 4, { 51: 4 }), never);
    expect(d).toMatchObject({
      retry: true,
      delayFrom: 'recovery-time',
      delayMs: Math.round(2 ** (50.5 / 4)),
    });
    expect(adaptiveRetry({ ...policy, maxDelayMs: 5000 }, 1, tally(4, 4, { 51: 4 }), never).delayMs).toBe(
      5000,
    );
    expect(adaptiveRetry(policy, 1, tally(2, 2, { 51: 2 }), never).delayFrom).toBe('base-schedule');
  });
});

describe('adaptive retry: lessons', () => {
  const failures = [
    { n: 1, c: 'aaaa', at: '2026-12-01T10:00:00.000Z' },
    { n: 2, c: 'bbbb', at: '2026-12-01T10:00:05.000Z' },
  ];
  it('a completed job recovered from every failure, with the time from each', () => {
    const lessons = retryLessonsOf(
      { type: 't', status: 'COMPLETED', failures, completedAt: '2026-12-01T10:00:09.000Z' },
      new Date('2026-12-01T10:00:09Z'),
    );
    expect(lessons.map((l) => [l.errorClass, l.attempt, l.recovered, l.recoveryMs])).toEqual([
      ['aaaa', 1, true, 9000],
      ['bbbb', 2, true, 4000],
    ]);
  });
  it('a dead job teaches its retried failures, not the last one; a cancelled job nothing', () => {
    const at = new Date('2026-12-01T10:00:09Z');
    expect(retryLessonsOf({ type: 't', status: 'DEAD', failures }, at)).toEqual([
      { type: 't', errorClass: 'aaaa', attempt: 1, recovered: false, at },
    ]);
    expect(retryLessonsOf({ type: 't', status: 'CANCELLED', failures }, at)).toEqual([]);
  });
  it('tallies sum by type, class, attempt and day, and add up over days into evidence', () => {
    const day1 = new Date('2026-12-01T10:00:00Z');
    const day2 = new Date('2026-12-02T10:00:00Z');
    const lesson = { type: 't', errorClass: 'aaaa', attempt: 1 };
    const tallies = tallyLessons([
      { ...lesson, recovered: true, recoveryMs: 6000, at: day1 },
      { ...lesson, recovered: false, at: day1 },
      { ...lesson, recovered: true, recoveryMs: 6500, at: day2 },
    ]);
    expect(tallies).toHaveLength(2);
    expect(tallies[0]).toMatchObject({ day: '2026-12-01', retried: 2, recovered: 1 });
    const evidence = evidenceOf(tallies);
    expect(evidence.get(1)).toMatchObject({ retried: 3, recovered: 2 });
    expect(Object.values(evidence.get(1)?.recovery ?? {}).reduce((a, b) => a + b, 0)).toBe(2);
  });
  it('error class ids are stable and ignore the ids in the message', () => {
    expect(errorClassId('x')).toMatch(/^[0-9a-f]{8}$/);
    expect(failureClassOf('Partner answered HTTP 400: unknown account acct_12')).toBe(
      failureClassOf('Partner answered HTTP 400: unknown account acct_97'),
    );
    expect(failureClassOf('socket hang up')).not.toBe(failureClassOf('Partner answered HTTP 503'));
  });
});

describe('adaptive retry: in the settlement', () => {
  const job = (over: Partial<JobRecord>): JobRecord => ({
    jobId: 'job_1',
    kind: 'job',
    queue: 'default',
    type: 't',
    status: 'RUNNING',
    attempts: 1,
    maxAttempts: 5,
    priority: 5,
    createdAt: '2026-12-01T10:00:00.000Z',
    backoff: backoffSchema.parse({ type: 'adaptive' }),
    ...over,
  });
  const now = new Date('2026-12-01T10:00:01Z');
  it('goes DEAD early with the estimate, and marks the failure for the row', () => {
    const s = settleFailure(job({}), 'boom 42', false, now, never, tally(30, 0));
    expect(s).toMatchObject({ status: 'DEAD', failure: { n: 1, c: failureClassOf('boom 7') } });
    expect(s.status === 'DEAD' && s.decision).toContain('adaptive retry stops');
  });
  it('other policies ignore evidence and keep their schedule', () => {
    const s = settleFailure(
      job({ backoff: backoffSchema.parse({}) }),
      'boom',
      false,
      now,
      never,
      tally(30, 0),
    );
    expect(s).toMatchObject({ status: 'FAILED', retryInMs: 1000 });
    expect(s.status === 'FAILED' && s.decision).toBeUndefined();
  });
  it('the policy option is refused on other types', () => {
    expect(backoffSchema.safeParse({ type: 'exponential', minSuccessProbability: 0.2 }).success).toBe(false);
    expect(backoffSchema.safeParse({ type: 'adaptive', minSuccessProbability: 1.5 }).success).toBe(false);
    expect(backoffSchema.parse({ type: 'adaptive', minSuccessProbability: 0.2 }).minSuccessProbability).toBe(
      0.2,
    );
  });
});

describe('adaptive retry on the generated workload (ground truth known)', () => {
  it('wastes ≥ 30% fewer retries than exponential backoff and loses ≤ 1% of the successes', () => {
    const c = compareRetryPolicies({ jobs: 2000, spanMs: 3_600_000, maxAttempts: 5, seed: 7 });
    expect(c.exponential.wastedRetries).toBeGreaterThan(1000);
    expect(c.wastedSaving).toBeGreaterThanOrEqual(0.3);
    expect(c.successLoss).toBeLessThanOrEqual(0.01);
    expect(c.adaptive.stoppedEarly).toBeGreaterThan(0);
  });
});
