/**
 * Operator pauses (domain/queue-pause.ts): POST /queues/{queue}/pause {reason?},
 * POST /queues/{queue}/resume, and for many at once POST /queues/pause {queues?, reason?} and
 * POST /queues/resume {queues?} (every queue and production line when `queues` is left out).
 * Running jobs finish; queued ones wait; submissions are still taken.
 */
import { z } from 'zod';
import { pausePortsFromEnv } from '#adapters/operations';
import { allQueueNames } from '#domain/job-queues';
import { pauseQueues, resumeQueues } from '#domain/queue-pause';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { notFound } from '#shared/http-errors';

const ports = pausePortsFromEnv();
const queueName = z.enum(allQueueNames as [string, ...string[]]);
const reason = z.string().min(1).max(500).optional();
const queuePath = z.object({ queue: z.string().min(1).max(64) });
const oneBody = z.object({ reason }).strict();
const manyBody = z
  .object({ queues: z.array(queueName).min(1).max(allQueueNames.length).optional(), reason })
  .strict();

const known = (queue: string) => {
  if (!allQueueNames.includes(queue))
    throw notFound('QUEUE_NOT_FOUND', `No queue or production line "${queue}" (${allQueueNames.join(', ')})`);
  return queue;
};

const pauseOne = httpRoute(
  { path: queuePath, body: oneBody, bodyOptional: true },
  async ({ path, body, event }) => {
    const [outcome] = await pauseQueues([known(path.queue)], actorOf(event), body.reason, ports);
    return json(200, outcome);
  },
);

const resumeOne = httpRoute({ path: queuePath }, async ({ path }) => {
  const [outcome] = await resumeQueues([known(path.queue)], ports);
  return json(200, outcome);
});

const pauseMany = httpRoute({ body: manyBody, bodyOptional: true }, async ({ body, event }) =>
  json(200, { queues: await pauseQueues(body.queues ?? allQueueNames, actorOf(event), body.reason, ports) }),
);

const resumeMany = httpRoute(
  { body: manyBody.omit({ reason: true }), bodyOptional: true },
  async ({ body }) => json(200, { queues: await resumeQueues(body.queues ?? allQueueNames, ports) }),
);

export const handler = byRoute({
  'POST /queues/{queue}/pause': pauseOne,
  'POST /queues/{queue}/resume': resumeOne,
  'POST /queues/pause': pauseMany,
  'POST /queues/resume': resumeMany,
});
