/**
 * Worker concurrency: what an operator may set, how a queue's total is split over its priority
 * bands, and the autoscaler's policy. A queue's concurrency is the sum of its event source
 * mappings' MaximumConcurrency (one mapping per band, for job queues and production lines alike).
 */
import { bandConcurrency, bandNames, type PriorityBand } from './job-queues.ts';

/** AWS's bounds for ScalingConfig.MaximumConcurrency, per mapping. */
export const minMappingConcurrency = 2;
export const maxMappingConcurrency = 1000;

export interface ScalingBounds {
  readonly min: number;
  readonly max: number;
}

const configuredTotal = (queue: string) =>
  Object.values<number>(bandConcurrency(queue)).reduce((a, b) => a + b, 0);

/** Autoscaler bounds per queue unless an operator set others: the floor of every band, up to 5× the configured total. */
export function scalingBounds(queue: string): ScalingBounds {
  return { min: bandNames.length * minMappingConcurrency, max: Math.max(configuredTotal(queue) * 5, 30) };
}

/** Manual limits: what POST /workers/scale accepts for a queue (at least 2 per band, AWS's floor). */
export function manualLimits(_queue: string): ScalingBounds {
  return { min: bandNames.length * minMappingConcurrency, max: bandNames.length * maxMappingConcurrency };
}

/**
 * A queue's total over its bands, in proportion to the configured weights, each band at least 2
 * (AWS's minimum, and the no-starvation floor); the parts add up to the total.
 */
export function splitAcrossBands(queue: string, total: number): Record<PriorityBand, number> {
  const weights = bandConcurrency(queue);
  const weightSum = configuredTotal(queue);
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

/**
 * Who decides a queue's concurrency. `manual`: an operator pinned it (POST /workers/scale with a
 * concurrency) and the autoscaler leaves the queue alone until it is released. `auto`: the
 * autoscaler sets it, within bounds an operator may narrow. No row means auto with the defaults.
 */
export interface ScalingMode {
  readonly queue: string;
  readonly mode: 'manual' | 'auto';
  /** manual: the pinned total. */
  readonly concurrency?: number;
  /** auto: the autoscaler's bounds. */
  readonly min?: number;
  readonly max?: number;
  /**
   * auto: how it decides. `target-tracking` (default): backlog per worker, with an age trigger.
   * `predictive`: the workers a queueing model (Erlang C, domain/scaling-advice.ts) says the
   * arrivals need for `targetWaitMs`, plus what clears today's backlog within a minute.
   */
  readonly policy?: 'target-tracking' | 'predictive';
  readonly targetWaitMs?: number;
  readonly by: string;
  readonly at: string;
  readonly reason: string;
}

/** The bounds the autoscaler works within for a queue in auto mode. */
export function boundsOf(queue: string, mode: ScalingMode | undefined): ScalingBounds {
  const defaults = scalingBounds(queue);
  return { min: mode?.min ?? defaults.min, max: mode?.max ?? defaults.max };
}

/** What GET /workers/status shows of who decides. */
export function describeMode(queue: string, mode: ScalingMode | undefined) {
  if (mode?.mode === 'manual')
    return {
      mode: 'manual' as const,
      pinnedTo: mode.concurrency,
      since: mode.at,
      by: mode.by,
      reason: mode.reason,
    };
  return {
    mode: 'auto' as const,
    bounds: boundsOf(queue, mode),
    policy: mode?.policy ?? 'target-tracking',
    ...(mode?.policy === 'predictive' ? { targetWaitMs: mode.targetWaitMs ?? defaultTargetWaitMs } : {}),
    ...(mode ? { since: mode.at, by: mode.by, reason: mode.reason } : {}),
  };
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

/** The mean wait a predictive queue aims for when its operator named none. */
export const defaultTargetWaitMs = 1000;

/** What the predictive policy reads: the model's suggestion and the run time it rests on. */
export interface PredictiveInput {
  readonly suggestedWorkers: number;
  readonly meanRunMs: number | null;
  readonly reasoning: readonly string[];
}

/**
 * Predictive scaling: the queueing model sizes the queue for its arrivals (steady state), and a
 * backlog already waiting adds the workers that clear it within a minute at the mean run time
 * (Erlang C assumes no backlog). Down by at most half per tick, as target tracking.
 */
export function predictiveScale(
  current: number,
  load: QueueLoad,
  bounds: ScalingBounds,
  model: PredictiveInput,
): ScalingDecision {
  const clamp = (n: number) => Math.min(bounds.max, Math.max(bounds.min, n));
  const catchUp = model.meanRunMs === null ? 0 : Math.ceil((load.depth * model.meanRunMs) / 60_000);
  let desired = model.suggestedWorkers + catchUp;
  let reason = `predictive: ${model.suggestedWorkers} for the arrivals (${model.reasoning.at(-2) ?? model.reasoning[0] ?? 'Erlang C'})`;
  if (catchUp > 0) reason += ` + ${catchUp} to clear ${load.depth} waiting within a minute`;
  if (desired < current) {
    desired = Math.max(desired, Math.ceil(current / 2));
    reason += '; scaling down at most by half per tick';
  }
  return { desired: clamp(desired), reason };
}
