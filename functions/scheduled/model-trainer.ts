/**
 * Model trainer (every hour, and on demand): refits the failure model on the last week of
 * finished jobs (domain/failure-prediction.ts) and stores it with its held-out quality, for
 * POST /jobs/predict and GET /analytics/models.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { JobQueries } from '#adapters/job-queries';
import { MetricsStore } from '#adapters/metrics-store';
import { ModelStore } from '#adapters/model-store';
import { retrainFailureModel } from '#domain/failure-prediction';
import { jobQueueNames } from '#domain/job-queues';
import { envInt, requireEnv } from '#shared/env';
import { logger } from '#shared/logger';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));
const models = new ModelStore(requireEnv('METRICS_TABLE'));

export const handler = middy()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const outcome = await retrainFailureModel(
      {
        queues: jobQueueNames,
        newestFinished: (queue, status, from, to, limit) =>
          queries.newestFinished(queue, status, from, to, limit),
        hourBuckets: (queue, from, to) => metrics.buckets('hour', queue, from, to),
        save: (model) => models.save(model),
      },
      new Date(),
    );
    if (!outcome.trained) {
      logger.info('Failure model not trained: too few finished jobs', { samples: outcome.samples });
      return { trained: false, samples: outcome.samples };
    }
    const { quality, samples, features } = outcome.model;
    logger.info('Failure model trained', {
      samples,
      features: features.length,
      ...quality,
      calibration: undefined,
    });
    return {
      trained: true,
      samples,
      features: features.length,
      accuracy: quality.accuracy,
      auc: quality.auc,
    };
  });
