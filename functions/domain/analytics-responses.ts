/**
 * The answers of GET /analytics/* and the JSON GET /metrics/* routes (functions/api/analytics.ts),
 * as zod schemas: what the reports of the domain (throughput.ts, sla.ts, cost-model.ts, …) and the
 * handlers build, field by field, so every object is closed. As in api-responses.ts, nothing
 * checks answers at run time: test/unit/response-contract.test.ts checks the reports against
 * them and the contract integration test checks real answers.
 *
 * A number the code may compute as NaN or Infinity reaches a client as null (JSON); the reports
 * avoid both, so the schemas do not allow for it.
 */
import * as z from 'zod';
import { count, isoTime, jobStatusSchema, rateLimit, slaView } from './api-responses.ts';

const ratio = z.number().nullable();
const storedGranularity = z.enum(['minute', 'hour']);

/** domain/histogram.ts, summary: the percentiles are null when nothing was counted. */
const histogramSummary = z.object({
  count,
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  p99: z.number().nullable(),
});

// ── GET /analytics/throughput ────────────────────────────────────────────────────────────────

const throughputCounts = {
  submitted: count,
  completed: count,
  failed: count,
  dead: count,
  jobsPerSecond: z.number(),
  successRate: ratio.describe('Completed ÷ (completed + dead); null when none finished'),
  runTimeMs: histogramSummary,
  waitTimeMs: histogramSummary,
};

export const throughputReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    granularity: z.enum(['minute', 'hour', 'day', 'week', 'month']),
    buckets: z.array(z.object({ bucket: isoTime, ...throughputCounts })),
    totals: z.object(throughputCounts),
    orders: z.object({
      completedPerHour: z.array(z.object({ hour: z.string(), completed: count })),
      byRobotType: z.record(z.string(), z.object({ completed: count, meanAssemblyMs: z.number() })),
    }),
  })
  .meta({ id: 'ThroughputReport' });

// ── GET /metrics/* ───────────────────────────────────────────────────────────────────────────

export const queueMetricsSchema = z
  .object({
    at: isoTime,
    queues: z.array(
      z.object({
        queue: z.string(),
        depth: count.describe('Messages waiting in SQS'),
        inFlight: count,
        delayed: count,
        oldestWaitingAgeMs: z.number().nullable(),
        concurrency: count,
        paused: z.boolean(),
        rateLimit: z.object(rateLimit).nullable(),
      }),
    ),
  })
  .meta({ id: 'QueueMetrics' });

export const workerMetricsSchema = z
  .object({
    at: isoTime,
    queues: z.array(
      z.object({
        queue: z.string(),
        workers: count,
        busy: count,
        idle: count,
        lost: count,
        jobsProcessed: count,
        failures: count,
        memoryUsedMbMax: z.number().nullable().describe('Null when no worker reported its memory'),
      }),
    ),
  })
  .meta({ id: 'WorkerMetrics' });

export const jobTimelineSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    jobs: z.array(
      z.object({
        jobId: z.string(),
        queue: z.string(),
        type: z.string(),
        kind: z.string(),
        status: jobStatusSchema,
        start: isoTime,
        end: isoTime.nullable().describe('Null while it runs'),
        attempts: count,
      }),
    ),
    truncated: z.boolean().describe('`limit` jobs were found: there may be more'),
  })
  .meta({ id: 'JobTimeline' });

export const jobDurationHistogramSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    queue: z.string().nullable(),
    runTimeMs: histogramSummary.extend({
      buckets: z.array(
        z.object({
          bucket: z.int().min(0),
          upToMs: z.int().min(0).describe('Runs of this bucket took less than this'),
          count,
        }),
      ),
    }),
  })
  .meta({ id: 'JobDurationHistogram' });

// ── GET /analytics/scaling-advice, /slow-jobs, /models ──────────────────────────────────────

/** domain/scaling-advice.ts, ScalingAdvice. */
export const scalingAdviceSchema = z
  .object({
    queue: z.string(),
    suggestedWorkers: count,
    currentConcurrency: count,
    arrivalRatePerSecond: z.number(),
    meanRunMs: z.number().nullable(),
    offeredLoad: z.number(),
    expectedWaitMs: z.number().nullable(),
    probabilityOfWait: z.number().nullable(),
    targetWaitMs: z.number(),
    window: z.object({ minutes: count, submitted: count, runs: count }),
    reasoning: z.array(z.string()),
  })
  .meta({ id: 'ScalingAdvice' });

/** domain/slow-jobs.ts, SlowJobsReport. */
export const slowJobsReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    types: z.array(
      z.object({
        type: z.string(),
        queues: z.array(z.string()),
        completed: count,
        failed: count,
        failureRate: ratio,
        runMs: z.object({
          mean: z.number().nullable(),
          p50: z.number().nullable(),
          p95: z.number().nullable(),
          p99: z.number().nullable(),
        }),
        waitMs: z.object({ mean: z.number().nullable(), p95: z.number().nullable() }),
        waitShare: ratio,
        trend: z.object({
          firstHalfMeanRunMs: z.number().nullable(),
          secondHalfMeanRunMs: z.number().nullable(),
          change: z.number().nullable(),
          direction: z.enum(['growing', 'shrinking', 'steady', 'unknown']),
        }),
        timeoutMs: z.number().nullable(),
        payload: z
          .object({
            samples: count,
            meanBytes: z.number(),
            correlation: z.number(),
            msPerKb: z.number(),
          })
          .nullable(),
        suggestions: z.array(z.string()),
      }),
    ),
  })
  .meta({ id: 'SlowJobsReport' });

/** domain/failure-prediction.ts, modelSummary (of the stored model). */
const failureModelSummary = z.object({
  name: z.literal('failure-prediction'),
  kind: z.string(),
  trainedAt: isoTime,
  trainingWindow: z.object({ from: isoTime, to: isoTime }),
  samples: count,
  successRate: z.number(),
  features: count,
  types: z.array(z.string()),
  quality: z.object({
    heldOut: count,
    accuracy: ratio,
    baselineAccuracy: ratio,
    auc: ratio,
    logLoss: z.number().nullable(),
    calibration: z.array(
      z.object({
        from: z.number(),
        to: z.number(),
        predicted: ratio,
        observed: ratio,
        count,
      }),
    ),
  }),
  durations: z.record(
    z.string(),
    z.object({ meanMs: z.number(), meanBytes: z.number(), msPerKb: z.number(), samples: count }),
  ),
  topFeatures: z.array(z.object({ feature: z.string(), weight: z.number() })),
});

export const failureModelsSchema = z
  .object({
    models: z.array(failureModelSummary),
    note: z.string().optional().describe('Why there is no model yet'),
  })
  .meta({ id: 'FailureModels' });

// ── GET /analytics/sla, /retries, /cost, /forecast, /errors, /utilisation ──────────────────

const judgedBucket = z.object({
  bucket: z.string(),
  jobs: count,
  percentWithin: z.number(),
  waitP95Ms: z.number().nullable(),
});

export const slaReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    granularity: storedGranularity,
    queues: z.array(
      z.object({
        queue: z.string(),
        sla: z.object(slaView),
        compliance: z.object({
          jobs: count,
          withinSla: count,
          percentWithin: z.number().nullable(),
          met: z.boolean().nullable(),
          waitP95Ms: z.number().nullable(),
        }),
        bucketsJudged: count,
        violationCount: count,
        violations: z.array(judgedBucket).describe('The buckets out of SLA, oldest first (the first 200)'),
        trend: z.object({
          firstHalfPercent: z.number().nullable(),
          secondHalfPercent: z.number().nullable(),
          change: z.number().nullable(),
          direction: z.enum(['improving', 'worsening', 'steady', 'unknown']),
        }),
        series: z.array(judgedBucket),
      }),
    ),
  })
  .meta({ id: 'SlaReport' });

const retryView = {
  attempts: z.array(
    z.object({
      attempt: z.string().describe('The attempt number; the last counted one is "<n>+"'),
      completed: count,
      failed: count,
      successRate: ratio,
    }),
  ),
  firstAttemptSuccessRate: ratio,
  eventualSuccessRate: ratio,
  retries: z.object({
    count,
    recovered: count,
    wasted: count,
    runSeconds: z.number(),
    failedAttemptRunSeconds: z.number(),
    backoffSeconds: z.number(),
    costUsd: z.number(),
  }),
};

/** domain/retry-analysis.ts, retryReport. */
export const retryReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    ...retryView,
    types: z.array(z.object({ queue: z.string(), type: z.string(), ...retryView })),
  })
  .meta({ id: 'RetryReport' });

const costBreakdown = z.object({
  dynamoDb: z.number(),
  sqs: z.number(),
  lambdaRequests: z.number(),
  lambdaCompute: z.number(),
  stepFunctions: z.number(),
  events: z.number(),
  api: z.number(),
});

const costView = {
  submitted: count,
  finished: count,
  attempts: count,
  retries: count,
  workerSeconds: z.number(),
  costUsd: z.number(),
  costPerJobUsd: z.number().nullable(),
  breakdownUsd: costBreakdown,
};

const usage = z.object({
  writeUnits: z.number(),
  readUnits: z.number(),
  sqsRequests: z.number(),
  lambdaRequests: z.number(),
  transitions: z.number(),
  events: z.number(),
  apiRequests: z.number(),
});
const kindUsage = z.object({ perJob: usage, perAttempt: usage, perRetry: usage });

/** domain/cost-model.ts, costReport. */
export const costReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    total: z.object(costView),
    monthlyProjection: z.object({ costUsd: z.number(), jobs: count, basis: z.string() }),
    queues: z.array(
      z.object({
        queue: z.string(),
        kind: z.enum(['job', 'step']),
        workerMemoryMb: count,
        ...costView,
      }),
    ),
    types: z.array(z.object({ queue: z.string(), type: z.string(), ...costView })),
    prices: z.object({
      region: z.string(),
      currency: z.string(),
      dynamoDbWriteUnit: z.number(),
      dynamoDbReadUnit: z.number(),
      sqsRequest: z.number(),
      lambdaRequest: z.number(),
      lambdaGbSecondArm: z.number(),
      stepFunctionsTransition: z.number(),
      eventBridgeEvent: z.number(),
      eventArchivePerEvent: z.number(),
      httpApiRequest: z.number(),
    }),
    usagePerKind: z.object({ job: kindUsage, step: kindUsage }),
    limits: z.array(z.string()),
  })
  .meta({ id: 'CostReport' });

const forecastHour = z.object({
  hour: isoTime,
  jobs: z.number(),
  low: z.number(),
  high: z.number(),
  workers: count
    .nullable()
    .optional()
    .describe('With an SLA and a measured run time only; null when more than the queue may have are needed'),
});

/** domain/volume-forecast.ts, volumeForecast. */
export const volumeForecastSchema = z
  .object({
    queue: z.string(),
    model: z.object({
      kind: z.string(),
      season: z.enum(['hour-of-week', 'hour-of-day', 'none']),
      history: z.object({ from: isoTime, hours: count, jobs: count }),
      trendPerDay: z.number(),
      residualSd: z.number(),
      quality: z
        .object({ heldOutHours: count, meanAbsoluteError: z.number(), flatForecastError: z.number() })
        .nullable()
        .describe('Null with less than three days of history'),
    }),
    meanRunMs: z.number().nullable(),
    sla: z.object({ withinMs: z.number(), percent: z.number() }).nullable(),
    workersNote: z.string(),
    totalJobs: z.number(),
    peak: forecastHour.nullable(),
    hours: z.array(forecastHour),
  })
  .meta({ id: 'VolumeForecast' });

/** domain/error-patterns.ts, errorPatterns. */
export const errorPatternsSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    step: z.enum(['hour', 'day']),
    failedAttempts: count,
    classified: count,
    unclassified: count,
    overflowed: count,
    distinctClasses: count,
    classes: z.array(
      z.object({
        classId: z.string(),
        errorClass: z.string(),
        failures: count,
        share: ratio,
        queues: z.array(z.string()),
        types: z.array(z.string()),
        firstSeen: isoTime.nullable(),
        lastSeen: isoTime.nullable(),
        trend: z.enum(['rising', 'falling', 'steady', 'unknown']),
        series: z.array(z.object({ bucket: isoTime, failures: count })),
      }),
    ),
  })
  .meta({ id: 'ErrorPatterns' });

/** domain/utilisation.ts, utilisationReport per queue. */
export const utilisationReportSchema = z
  .object({
    from: isoTime,
    to: isoTime,
    granularity: storedGranularity,
    queues: z.array(
      z.object({
        queue: z.string(),
        busySeconds: z.number(),
        availableWorkerSeconds: z.number(),
        idleWorkerSeconds: z.number(),
        utilisation: ratio,
        slotsPerWorker: count,
        workers: z.object({
          atStart: count.nullable(),
          atEnd: count.nullable(),
          min: count.nullable(),
          max: count.nullable(),
          changes: count,
        }),
        series: z.array(
          z.object({
            bucket: isoTime,
            busySeconds: z.number(),
            availableSeconds: z.number(),
            utilisation: ratio,
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'UtilisationReport' });
