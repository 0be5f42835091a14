/**
 * DELETE /jobs/{jobId} — cancel a job that has not finished. A waiting job is CANCELLED at once
 * (with its dependents); a running one is asked to stop and is CANCELLED by its worker at the
 * next heartbeat.
 */
import { z } from 'zod';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { completeFollowUps } from '#domain/job-lifecycle';
import { finishedJobStatuses } from '#domain/jobs';
import { httpRoute, json } from '#shared/http';
import { conflict, notFound } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const engine = jobEngineFromEnv();

export const handler = httpRoute(
  { path: z.object({ jobId: z.string().min(1).max(200) }) },
  async ({ path }) => {
    // A few rounds: the job may move (e.g. be claimed) between our read and our write.
    for (let round = 0; round < 5; round++) {
      const job = await engine.store.get(path.jobId);
      if (!job) throw notFound('JOB_NOT_FOUND', `No job ${path.jobId}`);
      if (job.kind === 'step') {
        throw conflict(
          'ROBOT_STEP',
          `Job ${job.jobId} is a step of order ${job.orderId}; robot steps are not cancelled one by one`,
        );
      }
      if (finishedJobStatuses.includes(job.status)) {
        throw conflict('JOB_FINISHED', `Job ${job.jobId} already finished as ${job.status}`, {
          status: job.status,
        });
      }
      const now = new Date();
      if (job.status === 'RUNNING') {
        const asked = await engine.store.requestCancel(job.jobId, now);
        if (!asked) continue;
        await engine.logs.append(job.jobId, {
          timestamp: now.toISOString(),
          level: 'WARN',
          message: 'Cancellation requested while running',
          attempt: job.attempts,
          workerId: engine.followUps.actor,
        });
        return json(202, {
          jobId: job.jobId,
          status: 'RUNNING',
          cancelRequested: true,
          message: 'The worker stops the job at its next heartbeat',
        });
      }
      const cancelled = await engine.store.cancel(job, 'Cancelled by request (DELETE /jobs/{id})', now);
      if (!cancelled) continue;
      await engine.logs.append(job.jobId, {
        timestamp: now.toISOString(),
        level: 'WARN',
        message: `Cancelled from ${job.status} by request`,
        attempt: job.attempts,
        workerId: engine.followUps.actor,
      });
      await completeFollowUps(cancelled, engine.followUps);
      return json(200, jobView((await engine.store.get(job.jobId)) ?? cancelled));
    }
    throw conflict('CONCURRENT_CHANGE', `Job ${path.jobId} kept changing; try again`);
  },
);
