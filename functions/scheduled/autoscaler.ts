/**
 * Autoscaler (every minute): sets each queue's worker concurrency from its backlog (SQS depth
 * and in-flight messages) and the age of its oldest waiting job, within per-queue bounds
 * (domain/worker-scaling.ts) — or, for a queue set to the predictive policy, from a queueing
 * model of its last hour's arrivals and run times (domain/scaling-advice.ts). Paused queues (maintenance) and queues an operator pinned (mode
 * manual) are left alone. Every change is recorded as a scaling event with its reason, and every
 * queue's backlog as a snapshot row (the minute's queue.backlog event).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { operationsFromEnv } from '#adapters/operations';
import { scalingAdvice } from '#domain/scaling-advice';
import { bucketStart } from '#domain/throughput';
import {
  autoscale,
  boundsOf,
  defaultAutoscalePolicy,
  defaultTargetWaitMs,
  predictiveScale,
  type QueueLoad,
  recentWork,
  type ScalingBounds,
  type ScalingDecision,
  splitAcrossBands,
} from '#domain/worker-scaling';
import { describeError, logger } from '#shared/logger';

const ops = operationsFromEnv();
/** How much history the predictive policy's queueing model reads. */
const adviceWindowMs = 60 * 60_000;
const engine = jobEngineFromEnv('autoscaler');

/**
 * Target tracking, and on the way out the queue's history, read only then: its last minute of
 * completions (minute buckets), its newest scaling events (enough to find a hold among a
 * hold's worth of ticks) and the backlog a minute ago (the snapshot this tick has not yet
 * overwritten). A read that fails leaves its part out: without the buckets nothing is judged
 * or held back for its rate (×2 steps); without the events no hold or step is known.
 */
async function targetTracking(
  queue: string,
  current: number,
  load: QueueLoad,
  bounds: ScalingBounds,
  now: number,
): Promise<ScalingDecision> {
  // Asked without the maximum, so that a step to the top is judged too.
  const wanted = autoscale(current, load, { ...bounds, max: Number.POSITIVE_INFINITY });
  const plain = { ...wanted, desired: Math.min(wanted.desired, bounds.max) };
  if (wanted.desired <= current) return plain;
  const historyRead = <T>(what: string, read: Promise<T>, fallback: T) =>
    read.catch((error) => {
      logger.warn(`Reading the queue's ${what} failed: scaling without it`, {
        queue,
        ...describeError(error),
      });
      return fallback;
    });
  const policy = defaultAutoscalePolicy;
  const [buckets, events, previous] = await Promise.all([
    historyRead(
      'minute buckets',
      ops.metrics.buckets('minute', queue, new Date(now - 60_000), new Date(now)),
      [],
    ),
    historyRead(
      'scaling events',
      ops.operations.scalingEvents(queue, Math.ceil(policy.holdMs / 60_000) + 2),
      [],
    ),
    historyRead('last backlog snapshot', ops.operations.backlog(queue), undefined),
  ]);
  const work = recentWork(buckets, now);
  const decision = autoscale(current, load, bounds, policy, {
    now,
    work,
    events,
    ...(previous ? { previous } : {}),
  });
  if (decision.desired !== plain.desired)
    logger.info("Scaling out limited by the queue's history", {
      queue,
      from: current,
      ...decision,
    });
  return decision;
}

export const handler = middy<unknown, { decisions: unknown[] }>()
  .use(injectLambdaContext(logger))
  .handler(async () => {
    const decisions = [];
    const modes = await ops.operations.scalingModes();
    for (const queue of ops.scaling.queues()) {
      try {
        const mode = modes.get(queue);
        const current = await ops.scaling.concurrency(queue);
        const load = await ops.scaling.depth(queue);
        // A job queue's earliest due entry on `ready`, a production line's oldest QUEUED step.
        const oldest = await engine.queries.oldestWaiting(queue);
        const now = Date.now();
        const snapshot = {
          queue,
          at: new Date(now).toISOString(),
          ...load,
          oldestWaitingMs: oldest ? now - Date.parse(oldest) : null,
          concurrency: current.total,
          paused: current.paused,
        };
        try {
          // An operator pinned this queue: their decision holds until they release it.
          if (mode?.mode === 'manual') continue;
          if (current.paused) continue;
          const queueLoad: QueueLoad = snapshot;
          const bounds = boundsOf(queue, mode);
          const decision: ScalingDecision =
            mode?.policy === 'predictive'
              ? predictiveScale(
                  current.total,
                  queueLoad,
                  bounds,
                  scalingAdvice({
                    queue,
                    // The last hour's arrivals and run times, as GET /analytics/scaling-advice reads them.
                    buckets: await ops.metrics.buckets(
                      'minute',
                      queue,
                      new Date(bucketStart(now - adviceWindowMs, 'minute')),
                      new Date(now),
                    ),
                    windowMs: adviceWindowMs,
                    targetWaitMs: mode.targetWaitMs ?? defaultTargetWaitMs,
                    currentConcurrency: current.total,
                    maxWorkers: bounds.max,
                  }),
                )
              : await targetTracking(queue, current.total, queueLoad, bounds, now);
          decisions.push({ queue, from: current.total, ...decision, load });
          if (decision.desired === current.total) continue;
          const parts = splitAcrossBands(queue, decision.desired);
          await ops.scaling.setConcurrency(queue, parts);
          await ops.operations.recordScaling({
            queue,
            at: snapshot.at,
            from: current.total,
            to: decision.desired,
            by: 'autoscaler',
            reason: decision.reason,
            source: 'autoscaler',
            bands: parts,
            ...(decision.rate !== undefined ? { rate: decision.rate } : {}),
            ...(decision.ceiling !== undefined
              ? { ceiling: decision.ceiling, holdUntil: decision.holdUntil }
              : {}),
          });
        } finally {
          // Every queue's backlog, every minute, whoever decides its scale: the queue.backlog
          // event. Written after the decision, which reads the last one. (A snapshot that fails
          // to land never holds up the scaling.)
          await ops.operations
            .recordBacklog(snapshot)
            .catch((error) =>
              logger.warn('Recording a backlog snapshot failed', { queue, ...describeError(error) }),
            );
        }
      } catch (error) {
        logger.error('Autoscaling a queue failed', { queue, ...describeError(error) });
      }
    }
    return { decisions };
  });
