/**
 * GET /job-batches/{batchId} — how far a batch has come, counted from its jobs.
 * GET /job-batches/{batchId}/graph — its jobs (and those they connect to) as a dependency
 * graph with the critical path.
 */
import * as z from 'zod';
import { BatchStore } from '#adapters/batch-store';
import { JobEngineStore } from '#adapters/job-engine-store';
import { JobQueries } from '#adapters/job-queries';
import { batchGraphSchema, batchProgressSchema } from '#domain/api-responses';
import { connectedJobs, dependencyGraph } from '#domain/dependency-graph';
import { envInt, requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const batches = new BatchStore(requireEnv('JOB_BATCHES_TABLE'), envInt('DEAD_JOB_RETENTION_DAYS', 30) + 1);
const queries = new JobQueries(requireEnv('JOBS_TABLE'));

// Reads only: the retention applies to writes.
const graphReads = new JobEngineStore(requireEnv('JOBS_TABLE'), { finishedDays: 0, deadDays: 0 });
const batchPath = z.object({ batchId: z.string().min(1).max(100) });

const batchGraph = httpRoute({ path: batchPath, responses: { 200: batchGraphSchema } }, async ({ path }) => {
  const batch = await batches.get(path.batchId);
  if (!batch) throw notFound('BATCH_NOT_FOUND', `No batch ${path.batchId}`);
  const { jobs, truncated } = await connectedJobs(batch.jobIds, (ids) => graphReads.getMany(ids), 1000);
  return json(200, { batchId: batch.batchId, ...dependencyGraph(jobs, new Date(), truncated) });
});

const getBatch = httpRoute({ path: batchPath, responses: { 200: batchProgressSchema } }, async ({ path }) => {
  const batch = await batches.get(path.batchId);
  if (!batch) throw notFound('BATCH_NOT_FOUND', `No batch ${path.batchId}`);
  const statuses = await queries.batchStatuses(batch.batchId);
  const count = (...s: string[]) => statuses.filter((x) => s.includes(x)).length;
  const counts = {
    total: batch.total,
    completed: count('COMPLETED'),
    failed: count('FAILED'),
    dead: count('DEAD'),
    pending: count('PENDING', 'QUEUED', 'RETRYING'),
    running: count('RUNNING'),
    cancelled: count('CANCELLED'),
  };
  const finished = counts.completed + counts.dead + counts.cancelled;
  return json(200, {
    batchId: batch.batchId,
    name: batch.name,
    createdAt: batch.createdAt,
    ...counts,
    finished: finished === batch.total,
    progress: batch.total ? Math.floor((finished / batch.total) * 100) : 100,
    jobIds: batch.jobIds,
  });
});

export const handler = byRoute({
  'GET /job-batches/{batchId}': getBatch,
  'GET /job-batches/{batchId}/graph': batchGraph,
});
