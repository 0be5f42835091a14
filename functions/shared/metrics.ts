/**
 * Custom metrics in CloudWatch's embedded metric format (Powertools Metrics): one JSON log line
 * that CloudWatch Logs turns into metrics, so the job path makes no metrics API call. Locally the
 * line lands in .local/lambda.log with the function's other lines.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { jobMetricsNamespace, jobOutcomeMetricsOf, type SettledOutcome } from '#domain/job-outcome-metrics';
import { serviceName } from './logger.ts';

export const jobMetrics = new Metrics({ namespace: jobMetricsNamespace, serviceName });

/**
 * One line per settled attempt — of a job or a robot step (its line as the queue), by a worker or
 * by lease recovery — dimensions service, queue and type. Synchronous from the first dimension to
 * the publish, so attempts settling concurrently never share a line.
 */
export function publishJobOutcome(attempt: SettledOutcome, metrics: Metrics = jobMetrics): void {
  const { dimensions, metrics: values } = jobOutcomeMetricsOf(attempt);
  // Nothing to count or time (say, a cancel nobody timed): no line, rather than Powertools' warning.
  if (values.length === 0) return;
  for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
  for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}
