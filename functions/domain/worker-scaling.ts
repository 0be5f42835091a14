/**
 * Worker concurrency: what an operator may set, how a job queue's total is split over its
 * priority bands, and the autoscaler's policy. A queue's concurrency is the sum of its event
 * source mappings' MaximumConcurrency (one mapping per band; one for a production line).
 */
import { bandNames, isJobQueue, jobQueues, type PriorityBand } from './job-queues.ts';
import { productionLines } from './production-lines.ts';

/** AWS's bounds for ScalingConfig.MaximumConcurrency, per mapping. */
export const minMappingConcurrency = 2;
export const maxMappingConcurrency = 1000;

export interface ScalingBounds {
  readonly min: number;
  readonly max: number;
}

/** Autoscaler bounds per queue: never below the configured default's floor, never above max. */
export function scalingBounds(queue: string): ScalingBounds {
  if (isJobQueue(queue)) {
    const configured = Object.values<number>(jobQueues[queue].concurrency).reduce((a, b) => a + b, 0);
    return { min: bandNames.length * minMappingConcurrency, max: Math.max(configured * 5, 30) };
  }
  const line = productionLines[queue as keyof typeof productionLines];
  return { min: minMappingConcurrency, max: Math.max(line.maxConcurrency * 5, 20) };
}

/** Manual limits: what POST /workers/scale accepts for a queue. */
export function manualLimits(queue: string): ScalingBounds {
  return isJobQueue(queue)
    ? { min: bandNames.length * minMappingConcurrency, max: bandNames.length * maxMappingConcurrency }
    : { min: minMappingConcurrency, max: maxMappingConcurrency };
}

/**
 * A job queue's total over its bands, in proportion to the configured weights, each band at
 * least 2 (AWS's minimum, and the no-starvation floor); the parts add up to the total.
 */
export function splitAcrossBands(queue: string, total: number): Record<PriorityBand, number> {
  if (!isJobQueue(queue)) throw new Error(`${queue} has no priority bands`);
  const weights = jobQueues[queue].concurrency;
  const weightSum = Object.values<number>(weights).reduce((a, b) => a + b, 0);
  const parts = Object.fromEntries(
    bandNames.map((b) => [b, Math.max(minMappingConcurrency, Math.floor((total * weights[b]) / weightSum))]),
  ) as Record<PriorityBand, number>;
  // Hand out what flooring left over (or take back what the floor added), most urgent first.
  let diff = total - Object.values(parts).reduce((a, b) => a + b, 0);
  for (const band of [...bandNames, ...bandNames]) {
    if (diff === 0) break;
    if (diff > 0) {
      parts[band]++;
      diff--;
    } else if (parts[band] > minMappingConcurrency) {
      parts[band]--;
      diff++;
    }
  }
  return parts;
}

export interface QueueLoad {
  /** Messages waiting (visible) in the queue's SQS queues. */
  readonly depth: number;
  /** Messages being worked on (in flight). */
  readonly inFlight: number;
  /** Age of the oldest job waiting to start, when known. */
  readonly oldestWaitingMs: number | null;
}

export interface AutoscalePolicy {
  /** Waiting + running work per worker the autoscaler aims for. */
  readonly targetPerWorker: number;
  /** A job waiting longer than this asks for more workers even when the backlog is small. */
  readonly maxWaitMs: number;
}

export const defaultAutoscalePolicy: AutoscalePolicy = { targetPerWorker: 2, maxWaitMs: 30_000 };

export interface ScalingDecision {
  readonly desired: number;
  readonly reason: string;
}

/**
 * Target tracking on backlog per worker, with an age trigger, halving at most per tick on the
 * way down (so a lull between bursts does not drop all capacity), straight to min when idle.
 */
export function autoscale(
  current: number,
  load: QueueLoad,
  bounds: ScalingBounds,
  policy: AutoscalePolicy = defaultAutoscalePolicy,
): ScalingDecision {
  const clamp = (n: number) => Math.min(bounds.max, Math.max(bounds.min, n));
  const work = load.depth + load.inFlight;
  if (work === 0) {
    return { desired: bounds.min, reason: 'idle: no waiting or running messages' };
  }
  let desired = Math.ceil(work / policy.targetPerWorker);
  let reason = `backlog ${load.depth} waiting + ${load.inFlight} in flight at ${policy.targetPerWorker} per worker`;
  if (load.oldestWaitingMs !== null && load.oldestWaitingMs > policy.maxWaitMs && desired <= current) {
    desired = Math.ceil(current * 1.5);
    reason = `oldest job waiting ${Math.round(load.oldestWaitingMs / 1000)} s > ${policy.maxWaitMs / 1000} s`;
  }
  if (desired < current) {
    desired = Math.max(desired, Math.ceil(current / 2));
    reason += '; scaling down at most by half per tick';
  }
  return { desired: clamp(desired), reason };
}
