/**
 * POST /api/v1/jobs — seed 004's submission, served beside POST /jobs so that a client written
 * from the seed works unchanged: `{queue, jobType, payload, priority, maxAttempts, scheduledFor}`
 * (POST /jobs takes these spellings too) answered with `{jobId, status, queuePosition}`. The
 * position is SQS's approximate count of jobs waiting in the job's band queue (itself included),
 * or null for a job that waits for its time or its dependencies.
 */
import { jobEngineFromEnv } from '#adapters/job-engine';
import { v1AcceptedJobSchema } from '#domain/api-responses';
import { submitJob } from '#domain/job-intake';
import { bandOf } from '#domain/job-queues';
import { jobRequestSchema } from '#domain/job-submission';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';
import { describeError, logger } from '#shared/logger';

const engine = jobEngineFromEnv();

export const handler = httpRoute(
  { body: jobRequestSchema, responses: { 202: v1AcceptedJobSchema, 200: v1AcceptedJobSchema } },
  async ({ body, event }) => {
    const accepted = await submitJob(body, event.headers?.['idempotency-key'], engine.intake).catch(
      rejectedAsHttp,
    );
    let queuePosition: number | null = null;
    if (accepted.status === 'QUEUED') {
      queuePosition = await engine.sender
        .waiting(body.queue, bandOf(body.priority))
        .then((waiting) => Math.max(1, waiting))
        .catch((error) => {
          // The job is accepted either way; the position is a courtesy.
          logger.warn('Queue position unknown', describeError(error));
          return null;
        });
    }
    return json(accepted.duplicate ? 200 : 202, {
      jobId: accepted.jobId,
      status: accepted.status,
      queuePosition,
      duplicate: accepted.duplicate,
      jobUrl: `/api/v1/jobs/${accepted.jobId}`,
    });
  },
);
