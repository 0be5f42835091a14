/**
 * POST /dlq/retry — bulk redrive: `{jobIds}` or a filter `{queue?, type?, errorContains?, limit?}`.
 * Reports how many matched and were retried, and why any were skipped.
 */
import * as z from 'zod';
import { retryPortsFromEnv } from '#adapters/job-engine';
import { dlqRetryResultSchema } from '#domain/api-responses';
import { redriveDeadJobs, selectDeadJobs } from '#domain/dead-job-redrive';
import { allQueueNames } from '#domain/job-queues';
import { retryJob } from '#domain/job-retry';
import { actorOf, httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const ports = retryPortsFromEnv();

const redriveSchema = z.union([
  z.object({ jobIds: z.array(z.string().min(1).max(200)).min(1).max(1000) }).strict(),
  z
    .object({
      queue: z.enum(allQueueNames as [string, ...string[]]).optional(),
      type: z.string().min(1).max(64).optional(),
      errorContains: z.string().min(1).max(200).optional(),
      /** Retrying every dead job is asked for explicitly, never by an empty body. */
      all: z.literal(true).optional(),
      limit: z.int().min(1).max(1000).default(500),
    })
    .strict(),
]);

export const handler = httpRoute(
  { body: redriveSchema, responses: { 202: dlqRetryResultSchema } },
  async ({ body, event }) => {
    if (!('jobIds' in body) && !body.queue && !body.type && !body.errorContains && !body.all) {
      throw badRequest(
        'CONFIRMATION_REQUIRED',
        'This would retry every dead job: narrow it (jobIds, queue, type, errorContains) or confirm with "all": true',
      );
    }
    const selection =
      'jobIds' in body
        ? { jobIds: body.jobIds }
        : {
            queues: body.queue ? [body.queue] : allQueueNames,
            ...(body.type ? { type: body.type } : {}),
            ...(body.errorContains ? { errorContains: body.errorContains } : {}),
            limit: body.limit,
          };
    const { jobs, skipped: unselected } = await selectDeadJobs(selection, ports);
    const { retried, skipped: refused } = await redriveDeadJobs(jobs, (job) =>
      retryJob(job, { ...ports, actor: actorOf(event) }),
    );
    const skipped = [...unselected, ...refused];
    return json(202, {
      // Selected jobs, and listed ids that exist but are not dead (a refused retry is counted once).
      matched: jobs.length + unselected.filter((s) => s.reason !== 'not found').length,
      retried: retried.length,
      jobIds: retried,
      skipped,
    });
  },
);
