/**
 * The adaptive retry policy against exponential backoff, on a generated workload whose ground
 * truth is known: which error classes are permanent, which clear after a recovery time, which
 * are coin flips. Both policies see the same jobs, the same failures and the same arrival
 * times, and decide with the worker's own code (`settleFailure`, domain/job-lifecycle.ts); the
 * adaptive one learns as jobs finish, from the same lessons the analytics recorder stores
 * (domain/adaptive-retry.ts), read through a one-minute cache like the worker's. Time is
 * simulated (an event queue), so a workload of hours runs in well under a second.
 *
 * Wasted retry: a retry that failed. Eventual success: the job completed.
 */
import {
  evidenceOf,
  type LessonTally,
  type RetryEvidence,
  retryLessonsOf,
  tallyLessons,
} from '../../functions/domain/adaptive-retry.ts';
import type { Backoff } from '../../functions/domain/backoff.ts';
import { failureClassOf, settleFailure } from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';

/** Deterministic: a workload and its draws are the same on every run (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Truth =
  | { kind: 'ok' }
  | { kind: 'permanent'; error: (i: number) => string }
  | { kind: 'transient'; error: (i: number) => string; recoveryMs: number }
  | { kind: 'flaky'; error: (i: number) => string; failShare: number };

/** The ground truth: a share of the jobs per behaviour (sums to 1). */
const behaviours: readonly { share: number; name: string; truth: (r: () => number) => Truth }[] = [
  { share: 0.6, name: 'succeeds', truth: () => ({ kind: 'ok' }) },
  {
    share: 0.12,
    name: 'permanent: HTTP 400 from the partner',
    truth: () => ({
      kind: 'permanent',
      error: (i) => `Partner answered HTTP 400: unknown account acct_${i}`,
    }),
  },
  {
    share: 0.08,
    name: 'permanent: invalid payload',
    truth: () => ({ kind: 'permanent', error: (i) => `Payload field "sku-${i}" is not in the catalogue` }),
  },
  {
    share: 0.12,
    name: 'transient: partner outage (4–10 s)',
    truth: (r) => ({
      kind: 'transient',
      error: (i) => `Partner answered HTTP 503 for request ${i}`,
      recoveryMs: 4_000 + r() * 6_000,
    }),
  },
  {
    share: 0.08,
    name: 'flaky: connection reset (50% per attempt)',
    truth: () => ({ kind: 'flaky', error: () => 'socket hang up (ECONNRESET)', failShare: 0.5 }),
  },
];

export interface RetryWorkload {
  readonly jobs: number;
  readonly spanMs: number;
  readonly maxAttempts: number;
  readonly seed: number;
}

export interface PolicyOutcome {
  readonly policy: string;
  readonly retries: number;
  readonly wastedRetries: number;
  readonly successes: number;
  readonly dead: number;
  readonly stoppedEarly: number;
  /** Simulated time from submission to the job's end, summed. */
  readonly busyMs: number;
}

interface SimJob {
  readonly index: number;
  readonly arrivesAt: number;
  readonly truth: Truth;
  /** The first failure's time: a transient class clears recoveryMs after it. */
  firstFailureAt?: number;
  record: JobRecord;
}

const attemptMs = 100;

function generate(workload: RetryWorkload): SimJob[] {
  const random = seededRandom(workload.seed);
  return Array.from({ length: workload.jobs }, (_, index) => {
    let pick = random();
    const behaviour =
      behaviours.find((b) => {
        pick -= b.share;
        return pick < 0;
      }) ?? (behaviours[0] as (typeof behaviours)[number]);
    const arrivesAt = Math.floor((index / workload.jobs) * workload.spanMs);
    return {
      index,
      arrivesAt,
      truth: behaviour.truth(random),
      record: {} as JobRecord,
    };
  });
}

/** Runs the workload under one retry policy; the adaptive one learns while it runs. */
export function runPolicy(workload: RetryWorkload, backoff: Backoff): PolicyOutcome {
  const jobs = generate(workload);
  const random = seededRandom(workload.seed + 1);
  const flips = seededRandom(workload.seed + 2);
  const tallies: LessonTally[] = [];
  const cache = new Map<string, { until: number; evidence: RetryEvidence }>();
  const evidenceAt = (type: string, errorClass: string, now: number): RetryEvidence => {
    const cached = cache.get(errorClass);
    if (cached && cached.until > now) return cached.evidence;
    const evidence = evidenceOf(tallies.filter((t) => t.type === type && t.errorClass === errorClass));
    cache.set(errorClass, { until: now + 60_000, evidence });
    return evidence;
  };
  // Due attempts, kept sorted by time (a binary insert: a few thousand jobs).
  const due: { at: number; job: SimJob }[] = [];
  const schedule = (at: number, job: SimJob) => {
    let lo = 0;
    let hi = due.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((due[mid] as { at: number }).at <= at) lo = mid + 1;
      else hi = mid;
    }
    due.splice(lo, 0, { at, job });
  };
  for (const job of jobs) {
    job.record = {
      jobId: `job_${job.index}`,
      kind: 'job',
      queue: 'default',
      type: 'sync_partner',
      status: 'QUEUED',
      attempts: 0,
      maxAttempts: workload.maxAttempts,
      priority: 5,
      createdAt: new Date(job.arrivesAt).toISOString(),
      backoff,
    };
    schedule(job.arrivesAt, job);
  }
  let retries = 0;
  let wastedRetries = 0;
  let successes = 0;
  let dead = 0;
  let stoppedEarly = 0;
  let busyMs = 0;
  const finish = (job: SimJob, status: 'COMPLETED' | 'DEAD', at: number) => {
    job.record = { ...job.record, status };
    const iso = new Date(at).toISOString();
    const finished = { ...job.record, ...(status === 'COMPLETED' ? { completedAt: iso } : { deadAt: iso }) };
    tallies.push(...tallyLessons(retryLessonsOf(finished, new Date(at))));
    busyMs += at - job.arrivesAt;
  };
  while (due.length > 0) {
    const { at, job } = due.shift() as { at: number; job: SimJob };
    const attempt = job.record.attempts + 1;
    job.record = { ...job.record, status: 'RUNNING', attempts: attempt };
    if (attempt > 1) retries++;
    const end = at + attemptMs;
    const truth = job.truth;
    const fails =
      truth.kind === 'permanent' ||
      (truth.kind === 'transient' && at < (job.firstFailureAt ?? at) + truth.recoveryMs) ||
      (truth.kind === 'flaky' && flips() < truth.failShare);
    if (!fails) {
      successes++;
      finish(job, 'COMPLETED', end);
      continue;
    }
    if (attempt > 1) wastedRetries++;
    job.firstFailureAt ??= at;
    const error = truth.error(job.index);
    const evidence =
      backoff.type === 'adaptive' ? evidenceAt(job.record.type, failureClassOf(error), end) : undefined;
    const settlement = settleFailure(job.record, error, false, new Date(end), random, evidence);
    if (settlement.status === 'FAILED') {
      job.record = {
        ...job.record,
        status: 'FAILED',
        failures: [...(job.record.failures ?? []), ...(settlement.failure ? [settlement.failure] : [])],
      };
      schedule(end + settlement.retryInMs, job);
    } else if (settlement.status === 'DEAD') {
      if (settlement.decision) stoppedEarly++;
      dead++;
      job.record = {
        ...job.record,
        failures: [...(job.record.failures ?? []), ...(settlement.failure ? [settlement.failure] : [])],
      };
      finish(job, 'DEAD', end);
    }
  }
  return { policy: backoff.type, retries, wastedRetries, successes, dead, stoppedEarly, busyMs };
}

export interface RetryComparison {
  readonly workload: RetryWorkload;
  readonly exponential: PolicyOutcome;
  readonly adaptive: PolicyOutcome;
  /** 1 − adaptive's wasted retries / exponential's. */
  readonly wastedSaving: number;
  /** 1 − adaptive's successes / exponential's (negative: more successes). */
  readonly successLoss: number;
}

export function compareRetryPolicies(workload: RetryWorkload): RetryComparison {
  const base = { delayMs: 1000, maxDelayMs: 60_000, jitter: false };
  const exponential = runPolicy(workload, { type: 'exponential', ...base });
  const adaptive = runPolicy(workload, { type: 'adaptive', ...base });
  return {
    workload,
    exponential,
    adaptive,
    wastedSaving: 1 - adaptive.wastedRetries / Math.max(1, exponential.wastedRetries),
    successLoss: 1 - adaptive.successes / Math.max(1, exponential.successes),
  };
}

export const workloadBehaviours = behaviours.map((b) => ({ share: b.share, name: b.name }));

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function retryComparisonTable(c: RetryComparison): string[] {
  const row = (o: PolicyOutcome) =>
    `| ${o.policy} | ${o.retries} | ${o.wastedRetries} | ${o.successes} | ${o.dead} | ${o.stoppedEarly} |`;
  return [
    `adaptive retry vs exponential backoff — simulated workload with ground truth: ${c.workload.jobs} jobs over ${c.workload.spanMs / 60_000} min, max ${c.workload.maxAttempts} attempts, base delay 1 s`,
    ...workloadBehaviours.map((b) => `  ${pct(b.share)} ${b.name}`),
    '',
    '| policy | retries | wasted retries | eventual successes | dead | stopped early |',
    '|---|---|---|---|---|---|',
    row(c.exponential),
    row(c.adaptive),
    '',
    `wasted retries: ${pct(c.wastedSaving)} fewer (goal ≥ 30%); eventual successes: ${
      c.successLoss <= 0 ? `${pct(-c.successLoss)} more` : `${pct(c.successLoss)} fewer`
    } (goal: at most 1% fewer)`,
  ];
}
