/** GET /jobs/{jobId} */
import { z } from 'zod';
import { JobStore } from '#adapters/job-store';
import { publicJobView } from '#domain/jobs';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const jobs = new JobStore(requireEnv('JOBS_TABLE'));

export const handler = httpRoute({ path: z.object({ jobId: z.string().min(1) }) }, async ({ path }) => {
  const job = await jobs.get(path.jobId);
  if (!job) throw notFound('JOB_NOT_FOUND', `No job with id "${path.jobId}".`);
  return json(200, publicJobView(job));
});
