/**
 * GET /job-batches/{batchId}?exact= — how far a batch has come: from the counters the analytics
 * recorder keeps off the jobs table's stream (about a second behind the jobs), and from the jobs'
 * rows when the counters say it has finished or `exact=true` (domain/batch-progress.ts).
 * GET /job-batches/{batchId}/graph — its jobs (and those they connect to) as a dependency
 * graph with the critical path.
 */
import * as z from 'zod';
import { BatchStore } from '#adapters/batch-store';
import { JobCountsStore } from '#adapters/job-counts-store';
import { JobEngineStore } from '#adapters/job-engine-store';
import { batchGraphSchema, batchProgressSchema } from '#domain/api-responses';
import { batchProgress } from '#domain/batch-progress';
import { connectedJobs, dependencyGraph } from '#domain/dependency-graph';
import { envInt, requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const batches = new BatchStore(requireEnv('JOB_BATCHES_TABLE'), envInt('DEAD_JOB_RETENTION_DAYS', 30) + 1);
const counts = new JobCountsStore(requireEnv('METRICS_TABLE'));

// Reads only (the graph, and a batch's rows): the retention applies to writes.
const graphReads = new JobEngineStore(requireEnv('JOBS_TABLE'), { finishedDays: 0, deadDays: 0 });
const batchPath = z.object({ batchId: z.string().min(1).max(100) });
const progressQuery = z.object({ exact: z.stringbool().default(false) });

const batchGraph = httpRoute({ path: batchPath, responses: { 200: batchGraphSchema } }, async ({ path }) => {
  const batch = await batches.get(path.batchId);
  if (!batch) throw notFound('BATCH_NOT_FOUND', `No batch ${path.batchId}`);
  const { jobs, truncated } = await connectedJobs(batch.jobIds, (ids) => graphReads.getMany(ids), 1000);
  return json(200, { batchId: batch.batchId, ...dependencyGraph(jobs, new Date(), truncated) });
});

const getBatch = httpRoute(
  { path: batchPath, query: progressQuery, responses: { 200: batchProgressSchema } },
  async ({ path, query }) => {
    const batch = await batches.get(path.batchId);
    if (!batch) throw notFound('BATCH_NOT_FOUND', `No batch ${path.batchId}`);
    const progress = await batchProgress(
      batch,
      {
        // A batch made before the counters were kept has none: its rows are counted.
        counted: async () =>
          batch.counted ? ((await counts.batchCounts(batch.batchId)) ?? { counts: {} }) : undefined,
        statuses: async () => [...(await graphReads.getMany(batch.jobIds)).values()].map((job) => job.status),
      },
      { exact: query.exact, now: new Date() },
    );
    return json(200, {
      batchId: batch.batchId,
      name: batch.name,
      createdAt: batch.createdAt,
      ...progress,
      jobIds: batch.jobIds,
    });
  },
);

export const handler = byRoute({
  'GET /job-batches/{batchId}': getBatch,
  'GET /job-batches/{batchId}/graph': batchGraph,
});
