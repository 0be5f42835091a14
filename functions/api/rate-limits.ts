/** PUT /queues/{queue}/rate-limit {limit, windowMs} and DELETE /queues/{queue}/rate-limit. */
import { z } from 'zod';
import { OperationsStore } from '#adapters/operations-store';
import { isJobQueue, jobQueueNames } from '#domain/job-queues';
import { rateLimitSchema, slotSpacingMs } from '#domain/rate-limits';
import { requireEnv } from '#shared/env';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
const queuePath = z.object({ queue: z.string().min(1).max(64) });

const checkQueue = (queue: string) => {
  if (!isJobQueue(queue)) {
    throw badRequest(
      'NOT_A_JOB_QUEUE',
      `Rate limits apply to job queues (${jobQueueNames.join(', ')}); "${queue}" is not one`,
    );
  }
};

const put = httpRoute({ path: queuePath, body: rateLimitSchema }, async ({ path, body, event }) => {
  checkQueue(path.queue);
  await operations.setRateLimit(path.queue, body, actorOf(event));
  return json(200, { queue: path.queue, ...body, startSpacingMs: slotSpacingMs(body) });
});

const remove = httpRoute({ path: queuePath }, async ({ path, event }) => {
  checkQueue(path.queue);
  await operations.setRateLimit(path.queue, null, actorOf(event));
  return { statusCode: 204, body: '' };
});

export const handler = byRoute({
  'PUT /queues/{queue}/rate-limit': put,
  'DELETE /queues/{queue}/rate-limit': remove,
});
