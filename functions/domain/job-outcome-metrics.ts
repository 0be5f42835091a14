/**
 * The job outcome metrics a job worker emits as it settles an attempt (CloudWatch embedded metric
 * format: a log line, no AWS call), by queue and job type, and what the dashboard reads. They
 * count as the analytics do (domain/job-changes.ts): a failed attempt is failed whether a retry
 * follows or the job is dead, and a dead job is dead too. Only attempts a worker settled are
 * counted here: a job lease recovery or a workflow's DEAD record ended is in the analytics
 * (GET /metrics) but not in these metrics.
 */
import type { SettledAttempt } from './job-lifecycle.ts';

export const jobMetricsNamespace = 'RobotFactory';

export const jobMetricNames = {
  completed: 'JobsCompleted',
  failed: 'JobsFailed',
  dead: 'JobsDead',
  /** How long an attempt's handler ran (every settled attempt), milliseconds. */
  runTime: 'JobRunTime',
  /** From the attempt's due time to its start, milliseconds. */
  waitTime: 'JobWaitTime',
} as const;

/** The dimensions of every job outcome metric, besides Powertools' own `service`. */
export const jobMetricDimensions = ['queue', 'type'] as const;

export interface OutcomeMetric {
  readonly name: (typeof jobMetricNames)[keyof typeof jobMetricNames];
  readonly unit: 'Count' | 'Milliseconds';
  readonly value: number;
}

export function jobOutcomeMetricsOf(attempt: SettledAttempt): {
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
      { name: jobMetricNames.runTime, unit: 'Milliseconds', value: attempt.ranMs },
      ...(attempt.waitedMs === undefined
        ? []
        : [{ name: jobMetricNames.waitTime, unit: 'Milliseconds', value: attempt.waitedMs } as const]),
    ],
  };
}
