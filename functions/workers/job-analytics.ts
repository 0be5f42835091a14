/**
 * The analytics recorder: fed by the jobs table's stream, it turns each batch of row changes
 * into the pre-aggregated metric buckets (domain/job-changes.ts), one write per bucket touched,
 * and then into the live job counts the stats and the queue overview read (domain/job-counts.ts),
 * one write per hour of due times touched and one for the states, and into the batches' progress
 * (domain/batch-progress.ts), one write per batch touched; a job that finishes after
 * failed attempts also teaches the adaptive retry policy (domain/adaptive-retry.ts).
 * A failed write fails the batch; Lambda halves and retries it (TableStreamConsumer). A retried
 * batch may count some changes twice, as a retried worker's write could before: analytics and
 * counts, not the jobs' state (`GET /jobs/stats?exact=true` recounts the rows).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { jobChangesOf } from '#adapters/job-changes';
import { JobCountsStore } from '#adapters/job-counts-store';
import { MetricsStore } from '#adapters/metrics-store';
import { RetryEvidenceStore } from '#adapters/retry-evidence-store';
import { tallyLessons } from '#domain/adaptive-retry';
import { batchCountChangesOf } from '#domain/batch-progress';
import { metricDeltaOf, retryLessonsOfChange } from '#domain/job-changes';
import { countChangesOf, countsEpochOf } from '#domain/job-counts';
import { envInt, requireEnv } from '#shared/env';
import { logger } from '#shared/logger';

const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));
// A batch's counters stay as long as its row (api/create-batch.ts).
const counts = new JobCountsStore(requireEnv('METRICS_TABLE'), envInt('DEAD_JOB_RETENTION_DAYS', 30) + 1);
const retryEvidence = new RetryEvidenceStore(requireEnv('METRICS_TABLE'));

export const handler = middy<DynamoDBStreamEvent, void>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const changes = jobChangesOf(event.Records);
    if (changes.length === 0) return;
    const deltas = changes.flatMap((change) => metricDeltaOf(change) ?? []);
    await Promise.all([
      metrics.recordAll(deltas),
      retryEvidence.add(tallyLessons(changes.flatMap(retryLessonsOfChange))),
    ]);
    // The counts are written last: once they land, the batch is done.
    const since = await counts.countsSince(countsEpochOf(changes));
    const counted = countChangesOf(changes, since);
    const batches = batchCountChangesOf(changes);
    await Promise.all([counts.apply(counted), counts.applyToBatches(batches, new Date())]);
    logger.debug('Job changes recorded', {
      records: event.Records.length,
      metrics: deltas.length,
      states: Object.keys(counted.states).length,
      batches: Object.keys(batches).length,
    });
  });
