/**
 * GET /jobs/{jobId} — a job of either kind; a robot step not yet dispatched shows as PENDING.
 * GET /jobs/{jobId}/graph — the jobs connected to it by dependencies, with the critical path.
 */
import * as z from 'zod';
import { JobEngineStore, StepJobStore } from '#adapters/job-engine-store';
import { OrderStore } from '#adapters/order-store';
import { jobGraphSchema, jobViewSchema } from '#domain/api-responses';
import { connectedJobs, dependencyGraph } from '#domain/dependency-graph';
import { findJob } from '#domain/job-lookup';

import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const ports = {
  jobs: new StepJobStore(requireEnv('JOBS_TABLE')),
  orders: new OrderStore(requireEnv('ORDERS_TABLE')),
};

// Reads only: the retention applies to writes.
const graphReads = new JobEngineStore(requireEnv('JOBS_TABLE'), { finishedDays: 0, deadDays: 0 });
const jobPath = z.object({ jobId: z.string().min(1) });

const getJob = httpRoute({ path: jobPath, responses: { 200: jobViewSchema } }, async ({ path }) => {
  const job = await findJob(path.jobId, ports);
  if (!job) throw notFound('JOB_NOT_FOUND', `No job with id "${path.jobId}".`);
  return json(200, jobView(job));
});

const jobGraph = httpRoute({ path: jobPath, responses: { 200: jobGraphSchema } }, async ({ path }) => {
  const { jobs, truncated } = await connectedJobs([path.jobId], (ids) => graphReads.getMany(ids));
  if (!jobs.some((j) => j.jobId === path.jobId))
    throw notFound('JOB_NOT_FOUND', `No job with id "${path.jobId}".`);
  return json(200, { jobId: path.jobId, ...dependencyGraph(jobs, new Date(), truncated) });
});

export const handler = byRoute({ 'GET /jobs/{jobId}': getJob, 'GET /jobs/{jobId}/graph': jobGraph });
