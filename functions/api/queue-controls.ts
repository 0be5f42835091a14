/**
 * The queues and their operator settings:
 * - GET /queues — every queue, the job types it takes, its concurrency per priority band, its
 *   rate limit and whether an operator paused it.
 * - Pauses (domain/queue-pause.ts): POST /queues/{queue}/pause {reason?},
 *   POST /queues/{queue}/resume, and for many at once POST /queues/pause {queues?, reason?} and
 *   POST /queues/resume {queues?} (every queue and production line when `queues` is left out).
 *   Running jobs finish; queued ones wait; submissions are still taken.
 * - Rate limits: PUT /queues/{queue}/rate-limit {limit, windowMs}, DELETE …/rate-limit.
 * - SLAs on waiting (domain/sla.ts): PUT /queues/{queue}/sla {waitP95Ms} or {withinMs, percent},
 *   DELETE …/sla; GET /analytics/sla measures them.
 */
import * as z from 'zod';
import { pausePortsFromEnv } from '#adapters/operations';
import { OperationsStore } from '#adapters/operations-store';
import {
  pauseOutcomeSchema,
  pauseOutcomesSchema,
  queueListSchema,
  queueRateLimitSchema,
  queueSlaSchema,
} from '#domain/api-responses';
import { allQueueNames, describeQueues, isJobQueue, jobQueueNames } from '#domain/job-queues';
import { pauseQueues, resumeQueues } from '#domain/queue-pause';
import { rateLimitSchema, slotSpacingMs } from '#domain/rate-limits';
import { slaOf, slaRequestSchema, slaView } from '#domain/sla';
import { requireEnv } from '#shared/env';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { badRequest, notFound } from '#shared/http-errors';

const ports = pausePortsFromEnv();
const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
const queuePath = z.object({ queue: z.string().min(1).max(64) });
const removed = { 204: { description: 'Removed (or there was none)' } };

const list = httpRoute({ responses: { 200: queueListSchema } }, async () => {
  const [limits, pauses, slas] = await Promise.all([
    operations.rateLimits(),
    operations.pauses(),
    operations.slas(),
  ]);
  return json(
    200,
    describeQueues().map((q) => {
      const pause = pauses.get(q.name);
      const sla = slas.get(q.name);
      return {
        ...q,
        rateLimit: limits[q.name] ?? null,
        sla: sla ? slaView(sla) : null,
        paused: pause !== undefined,
        ...(pause
          ? { pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, pauseReason: pause.reason ?? null }
          : {}),
      };
    }),
  );
});

const checkJobQueue = (queue: string) => {
  if (!isJobQueue(queue)) {
    throw badRequest(
      'NOT_A_JOB_QUEUE',
      `Rate limits apply to job queues (${jobQueueNames.join(', ')}); "${queue}" is not one`,
    );
  }
};

const putRateLimit = httpRoute(
  { path: queuePath, body: rateLimitSchema, responses: { 200: queueRateLimitSchema } },
  async ({ path, body, event }) => {
    checkJobQueue(path.queue);
    await operations.setRateLimit(path.queue, body, actorOf(event));
    return json(200, { queue: path.queue, ...body, startSpacingMs: slotSpacingMs(body) });
  },
);

const removeRateLimit = httpRoute({ path: queuePath, responses: removed }, async ({ path, event }) => {
  checkJobQueue(path.queue);
  await operations.setRateLimit(path.queue, null, actorOf(event));
  return { statusCode: 204, body: '' };
});
const known = (queue: string) => {
  if (!allQueueNames.includes(queue))
    throw notFound('QUEUE_NOT_FOUND', `No queue or production line "${queue}" (${allQueueNames.join(', ')})`);
  return queue;
};

/** Job queues and production lines alike: a line's steps wait in its bands too. */
const putSla = httpRoute(
  { path: queuePath, body: slaRequestSchema, responses: { 200: queueSlaSchema } },
  async ({ path, body, event }) => {
    const sla = slaOf(known(path.queue), body, actorOf(event), new Date());
    await operations.setSla(path.queue, sla);
    return json(200, { queue: path.queue, ...slaView(sla) });
  },
);

const removeSla = httpRoute({ path: queuePath, responses: removed }, async ({ path }) => {
  await operations.setSla(known(path.queue), null);
  return { statusCode: 204, body: '' };
});

const queueName = z.enum(allQueueNames as [string, ...string[]]);
const reason = z.string().min(1).max(500).optional();
const oneBody = z.object({ reason }).strict();
const manyBody = z
  .object({ queues: z.array(queueName).min(1).max(allQueueNames.length).optional(), reason })
  .strict();

const pauseOne = httpRoute(
  { path: queuePath, body: oneBody, bodyOptional: true, responses: { 200: pauseOutcomeSchema } },
  async ({ path, body, event }) => {
    const [outcome] = await pauseQueues([known(path.queue)], actorOf(event), body.reason, ports);
    return json(200, outcome);
  },
);

const resumeOne = httpRoute({ path: queuePath, responses: { 200: pauseOutcomeSchema } }, async ({ path }) => {
  const [outcome] = await resumeQueues([known(path.queue)], ports);
  return json(200, outcome);
});

const pauseMany = httpRoute(
  { body: manyBody, bodyOptional: true, responses: { 200: pauseOutcomesSchema } },
  async ({ body, event }) =>
    json(200, {
      queues: await pauseQueues(body.queues ?? allQueueNames, actorOf(event), body.reason, ports),
    }),
);

const resumeMany = httpRoute(
  { body: manyBody.omit({ reason: true }), bodyOptional: true, responses: { 200: pauseOutcomesSchema } },
  async ({ body }) => json(200, { queues: await resumeQueues(body.queues ?? allQueueNames, ports) }),
);

export const handler = byRoute({
  'GET /queues': list,
  'PUT /queues/{queue}/rate-limit': putRateLimit,
  'DELETE /queues/{queue}/rate-limit': removeRateLimit,
  'PUT /queues/{queue}/sla': putSla,
  'DELETE /queues/{queue}/sla': removeSla,
  'POST /queues/{queue}/pause': pauseOne,
  'POST /queues/{queue}/resume': resumeOne,
  'POST /queues/pause': pauseMany,
  'POST /queues/resume': resumeMany,
});
