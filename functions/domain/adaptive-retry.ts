/**
 * The adaptive retry policy (`backoff: {"type": "adaptive"}`): retries that history says will
 * not help are not made, and the delay before one that will is the time that class of error
 * has taken to clear.
 *
 * Evidence: every standalone job keeps a mark per failed attempt (`failures`: error class and
 * time). When the job finishes, each failure that was followed by a retry becomes a lesson for
 * (job type, error class, attempt number): did the job eventually complete, and how long after
 * that failure. The analytics recorder sums the lessons into day buckets (adapters/
 * retry-evidence-store.ts); the worker reads the last week of its type's buckets when an
 * attempt with the adaptive policy fails.
 *
 * Estimate: Beta-Binomial. With `r` retries after attempt n of this class and `s` of them
 * recovered, the chance that retrying recovers is the posterior mean (s + w·p0) / (r + w) of a
 * Beta(w·p0, w·(1−p0)) prior (p0 = ½, w = 4): no evidence gives ½ (retry, as the base policy
 * would), and it takes ~17 retries that all failed to fall below the default 10% threshold.
 * Below it the job goes DEAD now, with the estimate in its log — except for a small share of
 * exploring retries, so that a class that has become transient is noticed (a job that stops
 * teaches nothing).
 *
 * Delay: with ≥ 3 recoveries seen after attempt n, the 75th percentile of their
 * time-to-recovery (from the failure to the completion), capped at maxDelayMs; else the base
 * exponential schedule of delayMs.
 */

import { retryDelayMs } from './backoff.ts';
import { bucketOf, type Histogram, merge, percentile, total } from './histogram.ts';

/** A failed attempt, kept on the job row: the attempt, its error class's id and when it failed. */
export interface FailureMark {
  readonly n: number;
  readonly c: string;
  readonly at: string;
}

/** A short, stable id of an error class's key (FNV-1a, 32 bits, hex). */
export function errorClassId(classKey: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < classKey.length; i++) {
    hash ^= classKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** What one retry taught: attempt `attempt` failed with class `errorClass`; the job recovered or not. */
export interface RetryLesson {
  readonly type: string;
  readonly errorClass: string;
  readonly attempt: number;
  readonly recovered: boolean;
  /** From the failure to the job's completion (recovered lessons only). */
  readonly recoveryMs?: number;
  /** When the job finished: the lesson's day. */
  readonly at: Date;
}

export interface FinishedJobFacts {
  readonly type: string;
  readonly status: string;
  readonly failures?: readonly FailureMark[];
  readonly completedAt?: string;
  readonly deadAt?: string;
}

/**
 * The lessons of a job that just finished: each failure but the last of a DEAD job (the last
 * was not retried), each failure of a COMPLETED job. A cancelled job teaches nothing.
 */
export function retryLessonsOf(job: FinishedJobFacts, at: Date): RetryLesson[] {
  const failures = job.failures ?? [];
  if (job.status === 'COMPLETED') {
    const completed = Date.parse(job.completedAt ?? at.toISOString());
    return failures.map((f) => ({
      type: job.type,
      errorClass: f.c,
      attempt: f.n,
      recovered: true,
      recoveryMs: Math.max(0, completed - Date.parse(f.at)),
      at,
    }));
  }
  if (job.status === 'DEAD')
    return failures
      .slice(0, -1)
      .map((f) => ({ type: job.type, errorClass: f.c, attempt: f.n, recovered: false, at }));
  return [];
}

/** Retries after one attempt number of one class: how many, how many recovered, how fast. */
export interface RetryTally {
  readonly retried: number;
  readonly recovered: number;
  /** Time-to-recovery histogram (domain/histogram.ts). */
  readonly recovery: Histogram;
}

/** A type's evidence about one error class, by attempt number. */
export type RetryEvidence = ReadonlyMap<number, RetryTally>;

/** A store write's worth: the lessons of one type, class, attempt and day, summed. */
export interface LessonTally extends RetryTally {
  readonly type: string;
  readonly errorClass: string;
  readonly attempt: number;
  /** The UTC day (YYYY-MM-DD) the lessons were learnt. */
  readonly day: string;
}

/** Sums a batch of lessons: one tally per type, class, attempt and day. */
export function tallyLessons(lessons: readonly RetryLesson[]): LessonTally[] {
  const tallies = new Map<string, { -readonly [K in keyof LessonTally]: LessonTally[K] }>();
  for (const lesson of lessons) {
    const day = lesson.at.toISOString().slice(0, 10);
    const key = `${lesson.type}|${lesson.errorClass}|${lesson.attempt}|${day}`;
    const tally = tallies.get(key) ?? {
      type: lesson.type,
      errorClass: lesson.errorClass,
      attempt: lesson.attempt,
      day,
      retried: 0,
      recovered: 0,
      recovery: {},
    };
    tally.retried += 1;
    if (lesson.recovered) {
      tally.recovered += 1;
      if (lesson.recoveryMs !== undefined) {
        const bucket = bucketOf(lesson.recoveryMs);
        tally.recovery = { ...tally.recovery, [bucket]: (tally.recovery[bucket] ?? 0) + 1 };
      }
    }
    tallies.set(key, tally);
  }
  return [...tallies.values()];
}

/** Adds tallies up into one class's evidence by attempt (e.g. the days of a week). */
export function evidenceOf(tallies: Iterable<RetryTally & { readonly attempt: number }>): RetryEvidence {
  const evidence = new Map<number, RetryTally>();
  for (const t of tallies) {
    const sum = evidence.get(t.attempt) ?? { retried: 0, recovered: 0, recovery: {} };
    evidence.set(t.attempt, {
      retried: sum.retried + t.retried,
      recovered: sum.recovered + t.recovered,
      recovery: merge({ ...sum.recovery }, t.recovery),
    });
  }
  return evidence;
}

export interface AdaptivePolicy {
  readonly delayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: boolean;
  /** Below this estimated chance that retrying recovers, the job goes DEAD now (default 0.1). */
  readonly minSuccessProbability?: number;
}

export const adaptiveDefaults = {
  minSuccessProbability: 0.1,
  /** The prior: ½ with the weight of 4 observations. */
  priorMean: 0.5,
  priorWeight: 4,
  /** Share of retries made against the estimate, so that the evidence keeps up with change. */
  exploreShare: 0.05,
  /** Recoveries needed before their time sets the delay. */
  minRecoveries: 3,
  recoveryPercentile: 75,
} as const;

export interface RetryDecision {
  readonly retry: boolean;
  readonly delayMs: number;
  /** The posterior mean chance that retrying after this attempt recovers the job. */
  readonly successProbability: number;
  readonly retried: number;
  readonly recovered: number;
  /** Retrying although the estimate is below the threshold (exploration). */
  readonly explored: boolean;
  readonly delayFrom: 'recovery-time' | 'base-schedule';
  /** One sentence for the job's log. */
  readonly explanation: string;
}

const percent = (p: number) => `${Math.round(p * 1000) / 10}%`;

/** Whether and when to retry after attempt `attemptsMade` failed with an error of this class. */
export function adaptiveRetry(
  policy: AdaptivePolicy,
  attemptsMade: number,
  evidence: RetryEvidence | undefined,
  random: () => number,
): RetryDecision {
  const threshold = policy.minSuccessProbability ?? adaptiveDefaults.minSuccessProbability;
  const tally = evidence?.get(attemptsMade) ?? { retried: 0, recovered: 0, recovery: {} };
  const { priorMean, priorWeight } = adaptiveDefaults;
  const successProbability = (tally.recovered + priorWeight * priorMean) / (tally.retried + priorWeight);
  const seen = `${tally.recovered} of ${tally.retried} retries of this error class after attempt ${attemptsMade} recovered`;
  const estimate = `estimated ${percent(successProbability)} chance that retrying recovers (${seen})`;
  const below = successProbability < threshold;
  const explored = below && random() < adaptiveDefaults.exploreShare;
  if (below && !explored)
    return {
      retry: false,
      delayMs: 0,
      successProbability,
      retried: tally.retried,
      recovered: tally.recovered,
      explored: false,
      delayFrom: 'base-schedule',
      explanation: `adaptive retry stops: ${estimate}, below ${percent(threshold)}`,
    };
  const recoveryMs =
    total(tally.recovery) >= adaptiveDefaults.minRecoveries
      ? percentile(tally.recovery, adaptiveDefaults.recoveryPercentile)
      : null;
  const delayMs =
    recoveryMs === null
      ? retryDelayMs({ type: 'exponential', ...policy }, attemptsMade, random)
      : Math.min(policy.maxDelayMs, recoveryMs);
  return {
    retry: true,
    delayMs,
    successProbability,
    retried: tally.retried,
    recovered: tally.recovered,
    explored,
    delayFrom: recoveryMs === null ? 'base-schedule' : 'recovery-time',
    explanation: `adaptive retry: ${estimate}${explored ? ', below the threshold: an exploring retry' : ''}; delay ${
      recoveryMs === null
        ? 'from the exponential base schedule'
        : `p${adaptiveDefaults.recoveryPercentile} time-to-recovery of ${total(tally.recovery)} recoveries`
    }`,
  };
}
