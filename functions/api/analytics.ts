/**
 * Throughput analytics and operational metrics, from pre-aggregated buckets and small reads:
 * GET /analytics/throughput?from&to&granularity=minute|hour|day|week|month&queue&type
 * GET /metrics/queues, GET /metrics/workers
 * GET /metrics/jobs/timeline?from&to&queue&limit (start/end per job, for a Gantt view)
 * GET /metrics/job-duration-histogram?queue&type&from&to
 * GET /analytics/scaling-advice, GET /analytics/slow-jobs (operational intelligence)
 * GET /analytics/sla, /retries, /cost, /forecast, /errors, /utilisation (admin analytics,
 * docs/intelligence.md): each from the metric buckets of its range, whatever the number of jobs.
 */
import * as z from 'zod';
import { JobCountsStore, jobCounting } from '#adapters/job-counts-store';
import { JobQueries } from '#adapters/job-queries';
import { ModelStore, noModelYet } from '#adapters/model-store';
import { operationsFromEnv } from '#adapters/operations';
import {
  costReportSchema,
  errorPatternsSchema,
  failureModelsSchema,
  jobDurationHistogramSchema,
  jobTimelineSchema,
  queueMetricsSchema,
  retryReportSchema,
  scalingAdviceSchema,
  slaReportSchema,
  slowJobsReportSchema,
  throughputReportSchema,
  utilisationReportSchema,
  volumeForecastSchema,
  workerMetricsSchema,
} from '#domain/analytics-responses';
import { costReport } from '#domain/cost-model';
import { errorPatterns } from '#domain/error-patterns';
import { modelSummary } from '#domain/failure-prediction';
import { countJobs, statsOf } from '#domain/job-counts';
import { allQueueNames } from '#domain/job-queues';
import { retryReport } from '#domain/retry-analysis';
import { scalingAdvice } from '#domain/scaling-advice';
import { slaReport } from '#domain/sla';
import { slowJobsReport } from '#domain/slow-jobs';
import {
  bucketStart,
  durationHistogram,
  finestStoredFor,
  type Granularity,
  granularities,
  ordersReport,
  storedFor,
  throughputReport,
} from '#domain/throughput';
import { concurrencyTimeline, configuredConcurrency, utilisationReport } from '#domain/utilisation';
import { hourlyCounts, meanRunMsOf, volumeForecast } from '#domain/volume-forecast';
import { boundsOf, manualLimits } from '#domain/worker-scaling';
import { activeWithinMs, workerStatus } from '#domain/worker-status';
import { jobTypes } from '#job-types/index';
import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { badRequest, notFound } from '#shared/http-errors';

const ops = operationsFromEnv();
const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const modelStore = new ModelStore(requireEnv('METRICS_TABLE'));
const queueName = z.enum(allQueueNames as [string, ...string[]]);
const instant = z.iso.datetime({ offset: true });

/** A time range with defaults (the last `defaultMs`), validated and bounded in buckets. */
function range(
  query: { from?: string; to?: string },
  defaultMs: number,
  granularity: Granularity,
  maxBuckets: number,
) {
  const to = query.to ? new Date(query.to) : new Date();
  const from = query.from ? new Date(query.from) : new Date(to.getTime() - defaultMs);
  if (from >= to) throw badRequest('INVALID_RANGE', '`from` must be before `to`');
  const buckets = (to.getTime() - from.getTime()) / granularities[granularity];
  if (buckets > maxBuckets) {
    throw badRequest(
      'RANGE_TOO_LARGE',
      `At most ${maxBuckets} ${granularity} buckets per request; use a coarser granularity or a shorter range`,
    );
  }
  return { from, to };
}

/** What a throughput query covers without from/to: an hour of minutes, a day of hours, … */
const defaultRangeMs: Record<Granularity, number> = {
  minute: 3_600_000,
  hour: 86_400_000,
  day: 30 * 86_400_000,
  week: 12 * 7 * 86_400_000,
  month: 365 * 86_400_000,
};

const throughput = httpRoute(
  {
    query: z.object({
      from: instant.optional(),
      to: instant.optional(),
      granularity: z.enum(['minute', 'hour', 'day', 'week', 'month']).default('minute'),
      queue: queueName.optional(),
      type: z.string().min(1).max(64).optional(),
    }),
    responses: { 200: throughputReportSchema },
  },
  async ({ query }) => {
    const asked = range(query, defaultRangeMs[query.granularity], query.granularity, 1500);
    // Whole buckets: a week or a month starts on its first day.
    const from = new Date(bucketStart(asked.from, query.granularity));
    const to = asked.to;
    const queues = query.queue ? [query.queue] : allQueueNames;
    const stored = storedFor(query.granularity);
    const buckets = (
      await Promise.all(queues.map((q) => ops.metrics.buckets(stored, q, from, to, query.type)))
    ).flat();
    const orders = await ops.orderMetrics.buckets(from, to);
    return json(200, {
      ...throughputReport(buckets, from, to, query.granularity),
      orders: ordersReport(orders),
    });
  },
);

const queueMetrics = httpRoute({ responses: { 200: queueMetricsSchema } }, async () => {
  const limits = await ops.operations.rateLimits();
  const queues = await Promise.all(
    ops.scaling.queues().map(async (queue) => {
      const [load, concurrency, oldest] = await Promise.all([
        ops.scaling.depth(queue),
        ops.scaling.concurrency(queue),
        queries.oldestWaiting(queue),
      ]);
      return {
        queue,
        ...load,
        oldestWaitingAgeMs: oldest ? Math.max(0, Date.now() - Date.parse(oldest)) : null,
        concurrency: concurrency.total,
        paused: concurrency.paused,
        rateLimit: limits[queue] ?? null,
      };
    }),
  );
  return json(200, { at: new Date().toISOString(), queues });
});

const workerMetrics = httpRoute({ responses: { 200: workerMetricsSchema } }, async () => {
  const now = Date.now();
  const since = new Date(now - activeWithinMs).toISOString();
  const queues = await Promise.all(
    ops.scaling.queues().map(async (queue) => {
      const rows = await ops.workers.seenSince(queue, since);
      const states = rows.map((r) => workerStatus(r, now));
      return {
        queue,
        workers: rows.length,
        busy: states.filter((s) => s === 'busy').length,
        idle: states.filter((s) => s === 'idle').length,
        lost: states.filter((s) => s === 'lost').length,
        jobsProcessed: rows.reduce((sum, r) => sum + (r.jobsProcessed ?? 0), 0),
        failures: rows.reduce((sum, r) => sum + (r.failures ?? 0), 0),
        memoryUsedMbMax: rows.reduce((max, r) => Math.max(max, r.memoryUsedMb ?? 0), 0) || null,
      };
    }),
  );
  return json(200, { at: new Date(now).toISOString(), queues });
});

const timeline = httpRoute(
  {
    query: z.object({
      from: instant.optional(),
      to: instant.optional(),
      queue: queueName.optional(),
      limit: z.coerce.number().int().min(1).max(2000).default(500),
    }),
    responses: { 200: jobTimelineSchema },
  },
  async ({ query }) => {
    const { from, to } = range(query, 3_600_000, 'minute', 10_080);
    const jobs = [];
    for await (const job of queries.timeline(
      query.queue ? [query.queue] : allQueueNames,
      from.toISOString(),
      to.toISOString(),
    )) {
      jobs.push(job);
      if (jobs.length >= query.limit) break;
    }
    jobs.sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''));
    return json(200, {
      from: from.toISOString(),
      to: to.toISOString(),
      jobs,
      truncated: jobs.length >= query.limit,
    });
  },
);

/** A queue (or all), a type (or all) and a range (default: the last day), read from the finest buckets that hold it. */
const rangeQuery = z.object({
  queue: queueName.optional(),
  type: z.string().min(1).max(64).optional(),
  from: instant.optional(),
  to: instant.optional(),
});

async function rangeBuckets(query: z.infer<typeof rangeQuery>) {
  const { from, to } = range(query, 86_400_000, 'hour', 24 * 90);
  const granularity = finestStoredFor(from, to, new Date());
  const queues = query.queue ? [query.queue] : allQueueNames;
  const buckets = (
    await Promise.all(queues.map((q) => ops.metrics.buckets(granularity, q, from, to, query.type)))
  ).flat();
  return { from, to, granularity, buckets };
}

const histogram = httpRoute(
  {
    query: rangeQuery,
    responses: { 200: jobDurationHistogramSchema },
  },
  async ({ query }) => {
    const { from, to, buckets } = await rangeBuckets(query);
    return json(200, {
      from: from.toISOString(),
      to: to.toISOString(),
      queue: query.queue ?? null,
      runTimeMs: durationHistogram(buckets),
    });
  },
);

/**
 * GET /analytics/scaling-advice?queue=&targetWaitMs=&windowMinutes= — the workers the queue
 * needs for the target mean wait, from its arrivals and run times (domain/scaling-advice.ts).
 */
const advice = httpRoute(
  {
    query: z.object({
      queue: queueName,
      targetWaitMs: z.coerce.number().int().min(1).max(86_400_000).default(1000),
      windowMinutes: z.coerce.number().int().min(1).max(1440).default(60),
    }),
    responses: { 200: scalingAdviceSchema },
  },
  async ({ query }) => {
    const now = Date.now();
    const windowMs = query.windowMinutes * 60_000;
    const from = new Date(bucketStart(now - windowMs, 'minute'));
    const [buckets, concurrency, modes] = await Promise.all([
      ops.metrics.buckets('minute', query.queue, from, new Date(now)),
      ops.scaling.concurrency(query.queue),
      ops.operations.scalingModes(),
    ]);
    return json(
      200,
      scalingAdvice({
        queue: query.queue,
        buckets,
        windowMs,
        targetWaitMs: query.targetWaitMs,
        currentConcurrency: concurrency.total,
        maxWorkers: boundsOf(query.queue, modes.get(query.queue)).max,
      }),
    );
  },
);

/**
 * GET /analytics/slow-jobs?from&to&queue&type — per type: run and wait times, the trend, the
 * share spent waiting, payload size against run time, and suggestions (domain/slow-jobs.ts).
 */
const slowJobs = httpRoute(
  {
    query: rangeQuery,
    responses: { 200: slowJobsReportSchema },
  },
  async ({ query }) => {
    const [{ from, to, buckets }, limits] = await Promise.all([
      rangeBuckets(query),
      ops.operations.rateLimits(),
    ]);
    return json(
      200,
      slowJobsReport(buckets, {
        from,
        to,
        timeoutOf: (type) => jobTypes.get(type)?.defaults.timeoutMs,
        rateLimited: new Set(Object.keys(limits)),
      }),
    );
  },
);

/**
 * GET /analytics/sla?queue&from&to — per queue with an SLA (PUT /queues/{queue}/sla): the share
 * of jobs that started within it over the range, the buckets out of it, the trend (domain/sla.ts).
 */
const sla = httpRoute(
  { query: rangeQuery.omit({ type: true }), responses: { 200: slaReportSchema } },
  async ({ query }) => {
    const slas = await ops.operations.slas();
    if (query.queue && !slas.has(query.queue))
      throw notFound(
        'NO_SLA',
        `${query.queue} has no SLA: PUT /queues/${query.queue}/sla {waitP95Ms} or {withinMs, percent}`,
      );
    const { from, to } = range(query, 86_400_000, 'hour', 24 * 90);
    const granularity = finestStoredFor(from, to, new Date());
    const queues = [...slas.values()].filter((q) => !query.queue || q.queue === query.queue);
    const reports = await Promise.all(
      queues.map(async (q) =>
        slaReport(q, await ops.metrics.buckets(granularity, q.queue, from, to), { from, to }),
      ),
    );
    return json(200, {
      from: from.toISOString(),
      to: to.toISOString(),
      granularity,
      queues: reports.sort((a, b) => a.queue.localeCompare(b.queue)),
    });
  },
);

/** GET /analytics/retries?queue&type&from&to — success by attempt number, time and cost of retries. */
const retries = httpRoute({ query: rangeQuery, responses: { 200: retryReportSchema } }, async ({ query }) => {
  const { from, to, buckets } = await rangeBuckets(query);
  return json(200, retryReport(buckets, { from, to }));
});

/** GET /analytics/cost?queue&type&from&to — cost per job, queue and type, and the month ahead (domain/cost-model.ts). */
const cost = httpRoute({ query: rangeQuery, responses: { 200: costReportSchema } }, async ({ query }) => {
  const { from, to, buckets } = await rangeBuckets(query);
  return json(200, costReport(buckets, { from, to }));
});

/**
 * GET /analytics/forecast?queue&historyDays&hours — the queue's jobs per hour ahead from its
 * hour buckets, and the workers each hour needs for the queue's SLA (domain/volume-forecast.ts).
 */
const forecast = httpRoute(
  {
    query: z
      .object({
        queue: queueName,
        historyDays: z.coerce.number().int().min(1).max(90).default(28),
        hours: z.coerce.number().int().min(1).max(168).default(168),
      })
      .strict(),
    responses: { 200: volumeForecastSchema },
  },
  async ({ query }) => {
    const nextHour = Date.parse(bucketStart(Date.now(), 'hour')) + 3_600_000;
    // The history ends with the last whole hour: the running one is not a full count yet.
    const to = new Date(nextHour - 3_600_000);
    const from = new Date(to.getTime() - query.historyDays * 86_400_000);
    const [buckets, slas] = await Promise.all([
      ops.metrics.buckets('hour', query.queue, from, to),
      ops.operations.slas(),
    ]);
    const history = hourlyCounts(buckets, from.getTime(), to.getTime());
    const queueSla = slas.get(query.queue);
    return json(
      200,
      volumeForecast({
        queue: query.queue,
        counts: history.counts,
        historyStart: history.start,
        from: to.getTime(),
        hours: query.hours,
        meanRunMs: meanRunMsOf(buckets),
        ...(queueSla ? { sla: { withinMs: queueSla.withinMs, percent: queueSla.percent } } : {}),
        maxWorkers: manualLimits(query.queue).max,
      }),
    );
  },
);

/** GET /analytics/errors?queue&type&from&to&step&top — the top error classes over time (domain/error-patterns.ts). */
const errors = httpRoute(
  {
    query: rangeQuery.extend({
      step: z.enum(['hour', 'day']).optional(),
      top: z.coerce.number().int().min(1).max(50).default(10),
    }),
    responses: { 200: errorPatternsSchema },
  },
  async ({ query }) => {
    const { from, to, buckets } = await rangeBuckets(query);
    const step = query.step ?? (to.getTime() - from.getTime() > 7 * 86_400_000 ? 'day' : 'hour');
    return json(200, errorPatterns(buckets, { from, to, step, top: query.top }));
  },
);

/**
 * GET /analytics/utilisation?queue&from&to — busy against available worker time per queue: run
 * times from the buckets, concurrency from the scaling decisions (domain/utilisation.ts).
 */
const utilisation = httpRoute(
  { query: rangeQuery.omit({ type: true }), responses: { 200: utilisationReportSchema } },
  async ({ query }) => {
    const asked = range(query, 86_400_000, 'hour', 24 * 90);
    const granularity = finestStoredFor(asked.from, asked.to, new Date());
    // Whole buckets: a bucket's run time is counted against the whole of its time.
    const from = new Date(bucketStart(asked.from, granularity));
    const to = asked.to;
    const queues = query.queue ? [query.queue] : allQueueNames;
    const modes = await ops.operations.scalingModes();
    const reports = await Promise.all(
      queues.map(async (queue) => {
        const [buckets, changes] = await Promise.all([
          ops.metrics.buckets(granularity, queue, from, to),
          ops.operations.scalingEvents(queue, 1000),
        ]);
        const mode = modes.get(queue);
        const standing =
          (mode?.mode === 'manual' ? mode.concurrency : undefined) ?? configuredConcurrency(queue);
        const segments = concurrencyTimeline(changes, standing, from.getTime(), to.getTime());
        return utilisationReport(queue, buckets, segments, { from, to, stepMs: granularities[granularity] });
      }),
    );
    return json(200, { from: from.toISOString(), to: to.toISOString(), granularity, queues: reports });
  },
);

/** GET /analytics/models — each trained model: its window, samples and held-out quality. */
const models = httpRoute({ responses: { 200: failureModelsSchema } }, async () => {
  const failure = await modelStore.failureModel();
  return json(200, {
    models: failure ? [modelSummary(failure)] : [],
    ...(failure ? {} : { note: noModelYet }),
  });
});

const counting = jobCounting(queries, new JobCountsStore(requireEnv('METRICS_TABLE')));

const prometheusAnswer = {
  description: 'The metrics in the Prometheus text exposition format 0.0.4 (prom-client)',
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  schema: z.string(),
};

/** GET /metrics — Prometheus text format (domain/prometheus-metrics.ts), for any key. */
const prometheus = httpRoute({ responses: { 200: prometheusAnswer } }, async () => {
  const now = new Date();
  const hourAgo = new Date(bucketStart(now.getTime() - 3_600_000, 'minute'));
  const since = new Date(now.getTime() - activeWithinMs).toISOString();
  const names = ops.scaling.queues();
  const tally = await countJobs(counting, names, now, false);
  const queues = await Promise.all(
    names.map(async (queue) => {
      const [buckets, concurrency, rows] = await Promise.all([
        ops.metrics.buckets('minute', queue, hourAgo, now),
        ops.scaling.concurrency(queue),
        ops.workers.seenSince(queue, since),
      ]);
      const { totals } = throughputReport(buckets, hourAgo, now, 'minute');
      const states = rows.map((r) => workerStatus(r, now.getTime()));
      return {
        queue,
        stats: statsOf(tally, queue),
        paused: concurrency.paused,
        concurrency: concurrency.total,
        runMs: totals.runTimeMs,
        waitMs: totals.waitTimeMs,
        workers: {
          busy: states.filter((x) => x === 'busy').length,
          idle: states.filter((x) => x === 'idle').length,
          lost: states.filter((x) => x === 'lost').length,
        },
      };
    }),
  );
  // prom-client (~65 KB with its dependencies) serves only this route: a chunk of its own, loaded
  // at the first scrape rather than at every cold start of the analytics routes.
  const { prometheusText } = await import('#domain/prometheus-metrics');
  const { text, contentType } = await prometheusText(queues);
  return { statusCode: 200, headers: { 'content-type': contentType }, body: text };
});

export const handler = byRoute({
  'GET /metrics': prometheus,
  'GET /analytics/scaling-advice': advice,
  'GET /analytics/slow-jobs': slowJobs,
  'GET /analytics/models': models,
  'GET /analytics/sla': sla,
  'GET /analytics/retries': retries,
  'GET /analytics/cost': cost,
  'GET /analytics/forecast': forecast,
  'GET /analytics/errors': errors,
  'GET /analytics/utilisation': utilisation,
  'GET /analytics/throughput': throughput,
  'GET /metrics/queues': queueMetrics,
  'GET /metrics/workers': workerMetrics,
  'GET /metrics/jobs/timeline': timeline,
  'GET /metrics/job-duration-histogram': histogram,
});
