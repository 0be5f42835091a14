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
 * One line for a settled attempt — of a job or a robot step (its line as the queue), as lease
 * recovery settles them (the workers hold theirs: HeldJobOutcomes) — dimensions service, queue
 * and type. Synchronous from the first dimension to
 * the publish, so attempts settling concurrently never share a line.
 */
export function publishJobOutcome(attempt: SettledOutcome, metrics: Metrics = jobMetrics): void {
  publishLine([attempt], metrics);
}

/**
 * One line: attempts of one queue and type (fewer than 100), each a sample of its metrics. Nothing
 * to count or time (say, a cancel nobody timed): no line, rather than Powertools' warning.
 */
function publishLine(attempts: readonly SettledOutcome[], metrics: Metrics): void {
  let dimensionsSet = false;
  for (const attempt of attempts) {
    const { dimensions, metrics: values } = jobOutcomeMetricsOf(attempt);
    if (!dimensionsSet && values.length > 0) {
      for (const [name, value] of Object.entries(dimensions)) metrics.addDimension(name, value);
      dimensionsSet = true;
    }
    for (const { name, unit, value } of values) metrics.addMetric(name, unit, value);
  }
  if (dimensionsSet) metrics.publishStoredMetrics();
}

/**
 * EMF takes up to 100 values a metric in a line; Powertools publishes (and clears the dimensions)
 * on the 100th by itself, so a line holds fewer.
 */
const attemptsPerLine = 99;

/**
 * A job or step worker's outcome lines, held for up to `maxDelayMs` or to the end of its
 * invocation, whichever comes first (as Powertools' logMetrics flushes once per invocation): one
 * line per queue and type, each metric with every attempt's value — the same samples as a line
 * per attempt, stamped with the flush's time. A drain of no-op jobs wrote a third of its log
 * lines, and spent that share of its logging CPU, on these. The bound in time keeps a long job
 * that follows in the batch from holding its batch-mates' outcomes for its whole run; an
 * environment that dies loses what it still holds, at most a second's outcomes.
 */
export class HeldJobOutcomes {
  private readonly held = new Map<string, SettledOutcome[]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly metrics: Metrics = jobMetrics,
    private readonly maxDelayMs = 1_000,
  ) {}

  add(attempt: SettledOutcome): void {
    const key = JSON.stringify([attempt.queue, attempt.type]);
    const group = this.held.get(key);
    if (group) group.push(attempt);
    else this.held.set(key, [attempt]);
    this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /**
   * Writes the held lines. Synchronous: attempts settling meanwhile wait for the next flush. A
   * line that fails is dropped, never the settlement that told it (nor the flushes after it).
   */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const groups = [...this.held.values()];
    this.held.clear();
    for (const group of groups)
      for (let from = 0; from < group.length; from += attemptsPerLine) {
        try {
          publishLine(group.slice(from, from + attemptsPerLine), this.metrics);
        } catch {
          // As publishJobOutcome's callers do: a metric never fails the work it counts. What the
          // failed line had stored must not reach the next one.
          this.metrics.clearMetrics();
          this.metrics.clearDimensions();
        }
      }
  }
}
