/** GET /jobs/{jobId}/logs */
import * as z from 'zod';
import { StepJobStore } from '#adapters/job-engine-store';
import { JobLogStore } from '#adapters/job-log-store';
import { OrderStore } from '#adapters/order-store';
import { jobLogsSchema } from '#domain/api-responses';
import { findJob } from '#domain/job-lookup';
import { jobLogOf } from '#domain/jobs';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const ports = {
  jobs: new StepJobStore(requireEnv('JOBS_TABLE')),
  orders: new OrderStore(requireEnv('ORDERS_TABLE')),
};
const logs = new JobLogStore(requireEnv('JOB_LOGS_TABLE'), envInt('JOB_LOG_RETENTION_DAYS', 30));

export const handler = httpRoute(
  { path: z.object({ jobId: z.string().min(1) }), responses: { 200: jobLogsSchema } },
  async ({ path }) => {
    const [job, entries] = await Promise.all([findJob(path.jobId, ports), logs.list(path.jobId)]);
    if (!job) throw notFound('JOB_NOT_FOUND', `No job with id "${path.jobId}".`);
    return json(200, { jobId: job.jobId, logs: jobLogOf(entries, job) });
  },
);
