/** GET /job-batches/{batchId} — how far a batch has come, counted from its jobs. */
import { z } from 'zod';
import { BatchStore } from '#adapters/batch-store';
import { JobQueries } from '#adapters/job-queries';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const batches = new BatchStore(requireEnv('JOB_BATCHES_TABLE'), envInt('DEAD_JOB_RETENTION_DAYS', 30) + 1);
const queries = new JobQueries(requireEnv('JOBS_TABLE'));

export const handler = httpRoute(
  { path: z.object({ batchId: z.string().min(1).max(100) }) },
  async ({ path }) => {
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
  },
);
