/**
 * Workers and scaling:
 * GET /workers/status?queue= — every worker (execution environment) per queue with its state,
 *   and per queue the active workers and the configured concurrency.
 * POST /workers/scale {queue, concurrency} — pins the queue's MaximumConcurrency (split over its
 *   priority bands) until released with {queue, mode: "auto", min?, max?}; audited.
 * GET /workers/scaling-events?queue=&limit= — manual and autoscaler decisions, newest first.
 */
import * as z from 'zod';
import { operationsFromEnv } from '#adapters/operations';
import { scalingEventSchema, scalingEventsSchema, workersStatusSchema } from '#domain/api-responses';
import { allQueueNames } from '#domain/job-queues';
import {
  boundsOf,
  defaultTargetWaitMs,
  describeMode,
  manualLimits,
  splitAcrossBands,
} from '#domain/worker-scaling';
import { activeWithinMs, workerStatus } from '#domain/worker-status';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const ops = operationsFromEnv();
const queueName = z.enum(allQueueNames as [string, ...string[]]);

const status = httpRoute(
  { query: z.object({ queue: queueName.optional() }), responses: { 200: workersStatusSchema } },
  async ({ query }) => {
    const now = Date.now();
    const since = new Date(now - activeWithinMs).toISOString();
    const modes = await ops.operations.scalingModes();
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
            bands: concurrency.parts,
            paused: concurrency.paused,
            scaling: describeMode(queue, modes.get(queue)),
          },
          workers,
        };
      }),
    );
    return json(200, { at: new Date(now).toISOString(), queues });
  },
);

/**
 * An operator's decision holds: a concurrency pins the queue (mode manual) until it is released
 * with `{"mode": "auto"}`, optionally with the autoscaler's bounds.
 */
const scaleSchema = z
  .object({
    queue: queueName,
    mode: z.enum(['manual', 'auto']).optional(),
    concurrency: z.int().optional(),
    min: z.int().optional(),
    max: z.int().optional(),
    reason: z.string().max(200).optional(),
    /** auto only: target tracking (default) or the queueing model (predictive). */
    policy: z.enum(['target-tracking', 'predictive']).optional(),
    targetWaitMs: z.int().min(1).max(86_400_000).optional(),
  })
  .strict()
  .refine((b) => b.mode === 'auto' || (b.policy === undefined && b.targetWaitMs === undefined), {
    message: 'policy and targetWaitMs say how the autoscaler decides: give them with {"mode": "auto"}',
    path: ['policy'],
  })
  .refine((b) => b.targetWaitMs === undefined || b.policy === 'predictive', {
    message: 'targetWaitMs is the predictive policy\'s target: give it with {"policy": "predictive"}',
    path: ['targetWaitMs'],
  })
  .refine((b) => (b.mode === 'auto' ? b.concurrency === undefined : b.concurrency !== undefined), {
    message:
      'Give a concurrency to pin the queue (mode manual), or {"mode": "auto"} to hand it to the autoscaler',
    path: ['concurrency'],
  })
  .refine((b) => b.mode === 'auto' || (b.min === undefined && b.max === undefined), {
    message: 'min and max are the autoscaler\'s bounds: give them with {"mode": "auto"}',
    path: ['min'],
  });

const scale = httpRoute(
  { body: scaleSchema, responses: { 200: scalingEventSchema } },
  async ({ body, event }) => {
    const limits = manualLimits(body.queue);
    const outOfRange = (n: number | undefined) => n !== undefined && (n < limits.min || n > limits.max);
    if (outOfRange(body.concurrency) || outOfRange(body.min) || outOfRange(body.max)) {
      throw badRequest(
        'CONCURRENCY_OUT_OF_RANGE',
        `Concurrency of ${body.queue} must be between ${limits.min} and ${limits.max} (at least 2 per priority band)`,
        limits,
      );
    }
    const by = actorOf(event);
    const at = new Date().toISOString();
    const reason = body.reason ?? (body.mode === 'auto' ? 'released to the autoscaler' : 'manual');
    const before = await ops.scaling.concurrency(body.queue);
    if (body.mode === 'auto') {
      const bounds = boundsOf(body.queue, {
        queue: body.queue,
        mode: 'auto',
        min: body.min,
        max: body.max,
        by,
        at,
        reason,
      });
      if (bounds.min > bounds.max)
        throw badRequest('INVALID_BOUNDS', `min (${bounds.min}) is above max (${bounds.max})`, bounds);
      const policy =
        body.policy === 'predictive'
          ? { policy: 'predictive' as const, targetWaitMs: body.targetWaitMs ?? defaultTargetWaitMs }
          : {};
      await ops.operations.setScalingMode({
        queue: body.queue,
        mode: 'auto',
        ...bounds,
        ...policy,
        by,
        at,
        reason,
      });
      // Today's concurrency stays until the autoscaler's next tick, unless it is out of the new bounds.
      const to = Math.min(bounds.max, Math.max(bounds.min, before.total));
      const parts = splitAcrossBands(body.queue, to);
      if (to !== before.total) await ops.scaling.setConcurrency(body.queue, parts);
      const scalingEvent = {
        queue: body.queue,
        at,
        from: before.total,
        to,
        by,
        reason,
        source: 'manual' as const,
        bands: parts,
        mode: 'auto' as const,
        bounds,
        policy: body.policy ?? 'target-tracking',
        ...policy,
      };
      await ops.operations.recordScaling(scalingEvent);
      return json(200, scalingEvent);
    }
    const concurrency = body.concurrency as number;
    const parts = splitAcrossBands(body.queue, concurrency);
    await ops.scaling.setConcurrency(body.queue, parts);
    await ops.operations.setScalingMode({ queue: body.queue, mode: 'manual', concurrency, by, at, reason });
    const scalingEvent = {
      queue: body.queue,
      at,
      from: before.total,
      to: concurrency,
      by,
      reason,
      source: 'manual' as const,
      bands: parts,
      mode: 'manual' as const,
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
    responses: { 200: scalingEventsSchema },
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
  'GET /api/v1/workers': status,
  'POST /workers/scale': scale,
  'GET /workers/scaling-events': events,
});
