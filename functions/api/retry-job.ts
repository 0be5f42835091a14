/** POST /jobs/{jobId}/retry — re-run a DEAD or FAILED job; a robot step resumes its order. */
import * as z from 'zod';
import { retryPortsFromEnv } from '#adapters/job-engine';
import { retriedJobSchema } from '#domain/api-responses';
import { retryJob } from '#domain/job-retry';

import { actorOf, httpRoute, json } from '#shared/http';
import { conflict, notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const ports = retryPortsFromEnv();

export const handler = httpRoute(
  { path: z.object({ jobId: z.string().min(1).max(200) }), responses: { 202: retriedJobSchema } },
  async ({ path, event }) => {
    const job = await ports.store.get(path.jobId);
    if (!job) throw notFound('JOB_NOT_FOUND', `No job ${path.jobId}`);
    const outcome = await retryJob(job, { ...ports, actor: actorOf(event) });
    if (outcome.kind === 'refused') throw conflict(outcome.code, outcome.message, { status: job.status });
    return json(202, {
      ...jobView(outcome.job),
      ...(outcome.orderId
        ? {
            resumedOrder: {
              orderId: outcome.orderId,
              execution: outcome.executionName,
              statusUrl: `/orders/${outcome.orderId}/status`,
            },
          }
        : {}),
    });
  },
);
