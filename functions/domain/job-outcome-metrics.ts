/**
 * The outcome metrics of jobs and robot steps (CloudWatch embedded metric format: a log line, no
 * AWS call), by queue — a production line is a queue — and type, and what the dashboard reads.
 * Three writers settle an attempt and tell it: a job worker, a step worker, and the job
 * dispatcher's lease recovery (a vanished worker's attempt: failed, or dead when it was the last).
 * They count as the analytics do (domain/job-changes.ts): a failed attempt is failed whether a
 * retry follows or the job is dead, and a dead job is dead too. A robot step's last failed attempt
 * counts dead as its worker (or lease recovery) reports it: the workflow's retry policy has the
 * same budget and writes the DEAD record next. Not counted: a step the workflow gives up on for
 * another reason (its wait limit, a dispatch that kept failing) — the analytics count those.
 */
import type { JobRecord } from './jobs.ts';

export const jobMetricsNamespace = 'RobotFactory';

export const jobMetricNames = {
  completed: 'JobsCompleted',
  failed: 'JobsFailed',
  dead: 'JobsDead',
  /** How long an attempt ran on its worker (every attempt a worker settled), milliseconds. */
  runTime: 'JobRunTime',
  /** From the attempt's due time to its start, milliseconds. */
  waitTime: 'JobWaitTime',
} as const;

/** The dimensions of every job outcome metric, besides Powertools' own `service`. */
export const jobMetricDimensions = ['queue', 'type'] as const;

/**
 * An attempt as its settler tells it: a job worker's `SettledAttempt`, a step worker's, or lease
 * recovery's, which knows neither how long a vanished worker ran nor (so) its wait.
 */
export interface SettledOutcome {
  readonly queue: string;
  readonly type: string;
  /** A settlement's status (job-lifecycle.ts `Settlement`): how an attempt ends. */
  readonly status: 'COMPLETED' | 'FAILED' | 'DEAD' | 'CANCELLED';
  readonly attempt: number;
  /** How long the attempt ran, milliseconds; absent when nobody saw it end. */
  readonly ranMs?: number;
  /** From when the attempt was due to its start, milliseconds; absent if unknown. */
  readonly waitedMs?: number;
}

export interface OutcomeMetric {
  readonly name: (typeof jobMetricNames)[keyof typeof jobMetricNames];
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
}

export function jobOutcomeMetricsOf(attempt: SettledOutcome): {
  readonly dimensions: Record<(typeof jobMetricDimensions)[number], string>;
  readonly metrics: readonly OutcomeMetric[];
} {
  const count = (name: OutcomeMetric['name']): OutcomeMetric => ({ name, unit: 'Count', value: 1 });
  const counts: OutcomeMetric[] =
    attempt.status === 'COMPLETED'
      ? [count(jobMetricNames.completed)]
      : attempt.status === 'FAILED'
        ? [count(jobMetricNames.failed)]
        : attempt.status === 'DEAD'
          ? [count(jobMetricNames.failed), count(jobMetricNames.dead)]
          : [];
  return {
    dimensions: { queue: attempt.queue, type: attempt.type },
    metrics: [
      ...counts,
      ...(attempt.ranMs === undefined
        ? []
        : [{ name: jobMetricNames.runTime, unit: 'Milliseconds', value: attempt.ranMs } as const]),
      ...(attempt.waitedMs === undefined
        ? []
        : [{ name: jobMetricNames.waitTime, unit: 'Milliseconds', value: attempt.waitedMs } as const]),
    ],
  };
}

/**
 * A job's settled attempt as its row tells it: the wait runs from its due time (`runAt`, else its
 * creation) to `startedAt`, and is left out when that is unknown. Its run time is the settler's
 * to add: only a worker that saw the attempt end knows it.
 */
export function outcomeOfJob(
  job: Pick<JobRecord, 'queue' | 'type' | 'attempts' | 'runAt' | 'createdAt'>,
  status: SettledOutcome['status'],
  startedAt: string | undefined,
): SettledOutcome {
  const waitedMs = Date.parse(startedAt ?? '') - Date.parse(job.runAt ?? job.createdAt);
  return {
    queue: job.queue,
    type: job.type,
    status,
    attempt: job.attempts,
    ...(Number.isFinite(waitedMs) ? { waitedMs: Math.max(0, waitedMs) } : {}),
  };
}

/** Tells a settler's port of an outcome. A metric is never worth an attempt: what it throws is ignored. */
export function tellSettled<Outcome extends SettledOutcome>(
  settled: ((outcome: Outcome) => void) | undefined,
  outcome: Outcome,
): void {
  try {
    settled?.(outcome);
  } catch {
    // The attempt is settled whatever its metric does.
  }
}
