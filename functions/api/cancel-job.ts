/**
 * DELETE /jobs/{jobId} — cancel a job that has not finished (domain/job-cancel.ts). A waiting job
 * is CANCELLED at once (with its dependents); a running one is asked to stop and is CANCELLED by
 * its worker at the next heartbeat.
 */
import * as z from 'zod';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { cancelRequestedSchema, jobViewSchema } from '#domain/api-responses';
import { cancelJob } from '#domain/job-cancel';
import { actorOf, httpRoute, json } from '#shared/http';
import { conflict, notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const engine = jobEngineFromEnv();
const ports = { ...engine.followUps, jobs: engine.store };

export const handler = httpRoute(
  {
    path: z.object({ jobId: z.string().min(1).max(200) }),
    // 200: the job CANCELLED; 202: a running job asked to stop.
    responses: { 200: jobViewSchema, 202: cancelRequestedSchema },
  },
  async ({ path, event }) => {
    // The acting key is on record: in the job's log and its cancel reason.
    const outcome = await cancelJob(path.jobId, { ...ports, actor: actorOf(event) });
    switch (outcome.kind) {
      case 'not-found':
        throw notFound('JOB_NOT_FOUND', `No job ${path.jobId}`);
      case 'robot-step':
        throw conflict(
          'ROBOT_STEP',
          `Job ${path.jobId} is a step of order ${outcome.job.orderId}; robot steps are not cancelled one by one`,
        );
      case 'finished':
        throw conflict('JOB_FINISHED', `Job ${path.jobId} already finished as ${outcome.status}`, {
          status: outcome.status,
        });
      case 'stop-requested':
        return json(202, {
          jobId: path.jobId,
          status: 'RUNNING',
          cancelRequested: true,
          message: 'The worker stops the job at its next heartbeat',
        });
      case 'cancelled':
        return json(200, jobView(outcome.job));
      case 'kept-changing':
        throw conflict('CONCURRENT_CHANGE', `Job ${path.jobId} kept changing; try again`);
    }
  },
);
