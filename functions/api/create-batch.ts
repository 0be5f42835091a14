/** POST /job-batches — a named group of jobs whose progress is counted together. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { BatchStore } from '#adapters/batch-store';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { submitJobs } from '#domain/job-intake';
import { jobRequestSchema, maxBulkJobs } from '#domain/job-submission';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';

const engine = jobEngineFromEnv();
const batches = new BatchStore(requireEnv('JOB_BATCHES_TABLE'));

const batchRequestSchema = z
  .object({ name: z.string().min(1).max(200), jobs: z.array(jobRequestSchema).min(1).max(maxBulkJobs) })
  .strict();

export const handler = httpRoute({ body: batchRequestSchema }, async ({ body }) => {
  const batchId = `batch_${Date.now().toString(36)}${randomBytes(5).toString('hex')}`;
  const accepted = await submitJobs(body.jobs, engine.intake, { indexed: true, batchId }).catch(
    rejectedAsHttp,
  );
  // Written after the jobs: a batch row always names jobs that exist.
  await batches.create({
    batchId,
    name: body.name,
    total: accepted.length,
    jobIds: accepted.map((a) => a.jobId),
    createdAt: new Date().toISOString(),
  });
  return json(202, {
    batchId,
    name: body.name,
    jobIds: accepted.map((a) => a.jobId),
    batchUrl: `/job-batches/${batchId}`,
  });
});
