/**
 * Workers and scaling:
 * GET /workers/status?queue= — every worker (execution environment) per queue with its state,
 *   and per queue the active workers and the configured concurrency.
 * POST /workers/scale {queue, concurrency} — sets the queue's MaximumConcurrency (split over a
 *   job queue's priority bands), audited.
 * GET /workers/scaling-events?queue=&limit= — manual and autoscaler decisions, newest first.
 */
import { z } from 'zod';
import { operationsFromEnv } from '#adapters/operations';
import { allQueueNames, isJobQueue } from '#domain/job-queues';
import { manualLimits, splitAcrossBands } from '#domain/worker-scaling';
import { activeWithinMs, workerStatus } from '#domain/worker-status';
import { byRoute, httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const ops = operationsFromEnv();
const queueName = z.enum(allQueueNames as [string, ...string[]]);

const status = httpRoute({ query: z.object({ queue: queueName.optional() }) }, async ({ query }) => {
  const now = Date.now();
  const since = new Date(now - activeWithinMs).toISOString();
  const queues = await Promise.all(
    (query.queue ? [query.queue] : ops.scaling.queues()).map(async (queue) => {
      const [rows, concurrency] = await Promise.all([
        ops.workers.seenSince(queue, since),
        ops.scaling.concurrency(queue),
      ]);
      const workers = rows.map((row) => ({
        workerId: row.workerId,
        queue,
        status: workerStatus(row, now),
        currentJobId: row.status === 'busy' ? row.currentJobId : null,
        startedAt: row.startedAt,
        lastHeartbeatAt: row.lastHeartbeatAt,
        jobsProcessed: row.jobsProcessed ?? 0,
        failures: row.failures ?? 0,
        memoryUsedMb: row.memoryUsedMb ?? null,
      }));
      const count = (s: string) => workers.filter((w) => w.status === s).length;
      return {
        queue,
        summary: {
          activeWorkers: count('busy') + count('idle'),
          busy: count('busy'),
          idle: count('idle'),
          lost: count('lost'),
          configuredConcurrency: concurrency.total,
          ...(isJobQueue(queue) ? { bands: concurrency.parts } : {}),
          paused: concurrency.paused,
        },
        workers,
      };
    }),
  );
  return json(200, { at: new Date(now).toISOString(), queues });
});

const scale = httpRoute(
  {
    body: z
      .object({ queue: queueName, concurrency: z.int(), reason: z.string().max(200).optional() })
      .strict(),
  },
  async ({ body, event }) => {
    const limits = manualLimits(body.queue);
    if (body.concurrency < limits.min || body.concurrency > limits.max) {
      throw badRequest(
        'CONCURRENCY_OUT_OF_RANGE',
        `Concurrency of ${body.queue} must be between ${limits.min} and ${limits.max}` +
          (isJobQueue(body.queue) ? ' (at least 2 per priority band)' : ''),
        limits,
      );
    }
    const before = await ops.scaling.concurrency(body.queue);
    const parts = isJobQueue(body.queue)
      ? splitAcrossBands(body.queue, body.concurrency)
      : { line: body.concurrency };
    await ops.scaling.setConcurrency(body.queue, parts);
    const by = event.headers?.['x-operator'] ?? `api (${event.requestContext?.http?.sourceIp ?? 'unknown'})`;
    const scalingEvent = {
      queue: body.queue,
      at: new Date().toISOString(),
      from: before.total,
      to: body.concurrency,
      by,
      reason: body.reason ?? 'manual',
      source: 'manual' as const,
      bands: parts,
    };
    await ops.operations.recordScaling(scalingEvent);
    return json(200, scalingEvent);
  },
);

const events = httpRoute(
  {
    query: z.object({
      queue: queueName.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
  },
  async ({ query }) => {
    const lists = await Promise.all(
      (query.queue ? [query.queue] : ops.scaling.queues()).map((q) =>
        ops.operations.scalingEvents(q, query.limit),
      ),
    );
    const merged = lists
      .flat()
      .sort((a, b) => b.at.localeCompare(a.at))
      .slice(0, query.limit);
    return json(200, { events: merged });
  },
);

export const handler = byRoute({
  'GET /workers/status': status,
  'POST /workers/scale': scale,
  'GET /workers/scaling-events': events,
});
