/**
 * The analytics recorder: fed by the jobs table's stream, it turns each batch of row changes
 * into the pre-aggregated metric buckets (domain/job-changes.ts), one write per bucket touched.
 * A failed write fails the batch; Lambda halves and retries it (TableStreamConsumer). A retried
 * batch may count some changes twice, as a retried worker's write could before: analytics, not
 * the jobs' state.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { jobChangesOf } from '#adapters/job-changes';
import { MetricsStore } from '#adapters/metrics-store';
import { metricDeltaOf } from '#domain/job-changes';
import { envInt, requireEnv } from '#shared/env';
import { logger } from '#shared/logger';

const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));

export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  const deltas = jobChangesOf(event.Records).flatMap((change) => metricDeltaOf(change) ?? []);
  await metrics.recordAll(deltas);
  logger.debug('Job changes recorded', { records: event.Records.length, metrics: deltas.length });
};
