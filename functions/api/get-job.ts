/** GET /jobs/{jobId} — a job of either kind; a robot step not yet dispatched shows as PENDING. */
import { z } from 'zod';
import { StepJobStore } from '#adapters/job-engine-store';
import { OrderStore } from '#adapters/order-store';
import { findJob } from '#domain/job-lookup';

import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const ports = {
  jobs: new StepJobStore(requireEnv('JOBS_TABLE')),
  orders: new OrderStore(requireEnv('ORDERS_TABLE')),
};

export const handler = httpRoute({ path: z.object({ jobId: z.string().min(1) }) }, async ({ path }) => {
  const job = await findJob(path.jobId, ports);
  if (!job) throw notFound('JOB_NOT_FOUND', `No job with id "${path.jobId}".`);
  return json(200, jobView(job));
});
