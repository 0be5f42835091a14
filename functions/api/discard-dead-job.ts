/** DELETE /dlq/{jobId} — take a dead job out of the dead-letter queue (it stays readable until its TTL). */
import * as z from 'zod';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { jobViewSchema } from '#domain/api-responses';

import { actorOf, httpRoute, json } from '#shared/http';
import { conflict, notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const engine = jobEngineFromEnv();

export const handler = httpRoute(
  { path: z.object({ jobId: z.string().min(1).max(200) }), responses: { 200: jobViewSchema } },
  async ({ path, event }) => {
    const job = await engine.store.get(path.jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `No job ${path.jobId}`);
    if (job.status !== 'DEAD' || job.discardedAt) {
      throw conflict(
        'NOT_IN_DLQ',
        `Job ${job.jobId} is not in the dead-letter queue (${job.discardedAt ? 'already discarded' : job.status})`,
      );
    }
    const discarded = await engine.store.discard(job, new Date());
    if (!discarded)
      throw conflict('CONCURRENT_CHANGE', `Job ${job.jobId} changed meanwhile; read it and try again`);
    const actor = actorOf(event);
    await engine.logs.append(job.jobId, {
      timestamp: new Date().toISOString(),
      level: 'INFO',
      message: `Discarded from the dead-letter queue by ${actor}`,
      attempt: job.attempts,
      workerId: actor,
    });
    return json(200, jobView(discarded));
  },
);
