/** GET /jobs/{jobId}/output — the stored output of a job (an image, a report), as its own content type. */
import * as z from 'zod';
import { ArtifactStore } from '#adapters/artifact-store';
import { StepJobStore } from '#adapters/job-engine-store';
import { requireEnv } from '#shared/env';
import { httpRoute } from '#shared/http';
import { conflict, notFound } from '#shared/http-errors';

const jobs = new StepJobStore(requireEnv('JOBS_TABLE'));
const artifacts = new ArtifactStore(requireEnv('ARTIFACTS_BUCKET'));

export const handler = httpRoute(
  { path: z.object({ jobId: z.string().min(1).max(200) }) },
  async ({ path }) => {
    const job = await jobs.get(path.jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `No job ${path.jobId}`);
    const key = job.result?.artifactKey;
    if (job.status !== 'COMPLETED')
      throw conflict('JOB_NOT_COMPLETED', `Job ${job.jobId} is ${job.status}; it has no output yet`);
    if (typeof key !== 'string')
      throw notFound(
        'NO_OUTPUT',
        `Job ${job.jobId} (${job.type}) stores no output; its result is in GET /jobs/${job.jobId}`,
      );
    const artifact = await artifacts.get(key);
    if (!artifact) throw notFound('OUTPUT_EXPIRED', `The output of job ${job.jobId} is no longer stored`);
    const text =
      artifact.contentType.startsWith('application/json') || artifact.contentType.startsWith('text/');
    return {
      statusCode: 200,
      headers: { 'content-type': artifact.contentType, 'cache-control': 'private, max-age=3600' },
      body: text
        ? Buffer.from(artifact.body).toString('utf8')
        : Buffer.from(artifact.body).toString('base64'),
      isBase64Encoded: !text,
    };
  },
);
