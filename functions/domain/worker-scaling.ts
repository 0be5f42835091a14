/**
 * Worker concurrency: what an operator may set, how a queue's total is split over its priority
 * bands, and the autoscaler's policy. A queue's concurrency is the sum of its event source
 * mappings' MaximumConcurrency (one mapping per band, for job queues and production lines alike).
 */
import { bandConcurrency, bandNames, type PriorityBand } from './job-queues.ts';
import type { StoredBucket } from './throughput.ts';

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
  /**
   * A backlog the workers clear within this at the rate they complete jobs now gets no more
   * workers: by the next tick it is gone, and new workers would arrive with cold starts to an
   * empty queue. (Arrivals are not subtracted: a burst already in the backlog would count
   * twice. A backlog that grows anyway soon has a job waiting past `maxWaitMs`, and that
   * steps out whatever the rate, unless the backlog is draining within the minute.)
   */
  readonly clearWithinMs: number;
  /** The most a tick multiplies the workers by (Kubernetes' HPA doubles per period by default). */
  readonly maxStepFactor: number;
  /**
   * The share of the proportional gain a step out must show to count as paid: doubling the
   * workers must raise the rate by at least this × 100 %, or the step is undone.
   */
  readonly minGainShare: number;
  /** How long a step that did not pay caps the queue at the level before it. */
  readonly holdMs: number;
  /** A step out is judged at the first tick this long after it (the next, as ticks come a minute apart)… */
  readonly judgeAfterMs: number;
  /** …and not after this (a later tick measures another backlog, not the step). */
  readonly judgeWithinMs: number;
  /** Completions a minute (a rate of this / 60 s before the step, this many in the minute after) below which a rate is noise. */
  readonly minJudgedCompletions: number;
  /** Jobs longer than this on average are not judged: a minute cannot show what a step brought them. */
  readonly maxJudgedRunMs: number;
}

export const defaultAutoscalePolicy: AutoscalePolicy = {
  targetPerWorker: 2,
  maxWaitMs: 30_000,
  clearWithinMs: 60_000,
  maxStepFactor: 2,
  minGainShare: 0.25,
  holdMs: 10 * 60_000,
  judgeAfterMs: 45_000,
  judgeWithinMs: 105_000,
  minJudgedCompletions: 30,
  maxJudgedRunMs: 20_000,
};

/** A scaling event of a queue, as the autoscaler reads it back (adapters/operations-store.ts). */
export interface LastScaling {
  readonly at: string;
  readonly from: number;
  readonly to: number;
  readonly source: 'manual' | 'autoscaler';
  /** Autoscaler: the jobs the queue completed per second when it decided (`recentWork`). */
  readonly rate?: number;
  /** A step out that did not pay: no more than `ceiling` workers until `holdUntil`. */
  readonly ceiling?: number;
  readonly holdUntil?: string;
}

/** What a queue's minute buckets say of its last minute (`recentWork`). */
export interface RecentWork {
  /** Jobs completed per second. */
  readonly completedPerS: number;
  /** The completions the rate rests on. */
  readonly completed: number;
  /** Their mean run time, when the buckets keep it. */
  readonly meanRunMs: number | null;
  /** The seconds the rate is measured over: 60, or the current minute's. */
  readonly seconds: number;
}

/** What the autoscaler knows of the queue's recent past besides its load. */
export interface ScalingHistory {
  readonly now: number;
  /** Null when nothing was measured (no bucket, or the read failed). */
  readonly work: RecentWork | null;
  /** The queue's newest scaling events, newest first. */
  readonly events: readonly LastScaling[];
  /** The backlog the last tick saw, when known. */
  readonly previous?: { readonly at: string; readonly depth: number };
}

export interface ScalingDecision {
  readonly desired: number;
  readonly reason: string;
  /**
   * A step out: the rate it will be judged against (jobs completed per second), unless its
   * backlog is younger than the time the rate was measured over — a rate measured partly before
   * the backlog arrived says nothing of what the workers can do, and the step is not judged.
   * (Where the oldest job's age is unknown, the rate is taken as it is.)
   */
  readonly rate?: number;
  /** A step out undone: the cap and until when, to record with the event. */
  readonly ceiling?: number;
  readonly holdUntil?: string;
}

/**
 * A queue's last minute from its minute buckets (all types and shards summed): over the last
 * 60 s (the older bucket counted for its share of them), or over the current minute alone once
 * it has run 20 s when it completed faster there (a backlog that arrived within the minute is
 * not averaged with the idle time before it). Completions, not failed attempts: a step out that
 * only fails faster (a rate-limited API answering 429) has not paid. Null when no bucket counts
 * a completion.
 */
export function recentWork(buckets: readonly StoredBucket[], now: number): RecentWork | null {
  const minute = 60_000;
  const currentStart = Math.floor(now / minute) * minute;
  const elapsed = now - currentStart;
  const sum = () => ({ completed: 0, runMsSum: 0, runs: 0 });
  const current = sum();
  const previous = sum();
  for (const b of buckets) {
    const start = Date.parse(b.bucket);
    const into = start === currentStart ? current : start === currentStart - minute ? previous : undefined;
    if (!into) continue;
    into.completed += b.counters.completed ?? 0;
    // Exact run-time sums are kept beside the histograms; older buckets lack them.
    if (b.counters.runMsSum !== undefined) {
      into.runMsSum += b.counters.runMsSum;
      into.runs += b.counters.completed ?? 0;
    }
  }
  if (current.completed + previous.completed === 0) return null;
  const share = (minute - elapsed) / minute;
  const window =
    elapsed >= 20_000 &&
    current.completed / (elapsed / 1000) > (current.completed + previous.completed * share) / 60
      ? { ...current, seconds: elapsed / 1000 }
      : {
          completed: current.completed + previous.completed * share,
          runMsSum: current.runMsSum + previous.runMsSum,
          runs: current.runs + previous.runs,
          seconds: 60,
        };
  return {
    completedPerS: window.completed / window.seconds,
    completed: Math.round(window.completed),
    seconds: window.seconds,
    meanRunMs: window.runs > 0 ? window.runMsSum / window.runs : null,
  };
}

/** A rate as an operator reads it: per minute below one a second. */
const perSecond = (rate: number) => {
  if (rate < 1) return `${Math.round(rate * 60)}/min`;
  const tenths = Math.round(rate * 10) / 10;
  return `${tenths < 10 ? tenths.toFixed(1) : Math.round(rate)}/s`;
};
const clock = (at: string) => `${at.slice(11, 16)} UTC`;

/**
 * Target tracking on backlog per worker, with an age trigger, halving at most per tick on the
 * way down (so a lull between bursts does not drop all capacity), straight to min when idle.
 * On the way out, with the queue's history: no step for a backlog the workers clear within a
 * minute, at most ×2 per tick, and a step that did not raise the rate is undone and capped for
 * a while (when the work is bound elsewhere — a database, a rate-limited API, the machine's
 * cores — more workers only cost cold starts and money).
 */
export function autoscale(
  current: number,
  load: QueueLoad,
  bounds: ScalingBounds,
  policy: AutoscalePolicy = defaultAutoscalePolicy,
  history?: ScalingHistory,
): ScalingDecision {
  const clamp = (n: number) => Math.min(bounds.max, Math.max(bounds.min, n));
  const work = load.depth + load.inFlight;
  if (work === 0) {
    return { desired: bounds.min, reason: 'idle: no waiting or running messages' };
  }
  let desired = Math.ceil(work / policy.targetPerWorker);
  let reason = `backlog ${load.depth} waiting + ${load.inFlight} in flight at ${policy.targetPerWorker} per worker`;
  const aged = load.oldestWaitingMs !== null && load.oldestWaitingMs > policy.maxWaitMs;
  if (aged && desired <= current) {
    desired = Math.ceil(current * 1.5);
    reason = `oldest job waiting ${Math.round((load.oldestWaitingMs ?? 0) / 1000)} s > ${policy.maxWaitMs / 1000} s`;
  }
  if (desired < current) {
    desired = Math.max(desired, Math.ceil(current / 2));
    reason += '; scaling down at most by half per tick';
  }
  if (desired > current && history) {
    const out = scaleOut(current, desired, reason, aged, load, policy, history, clamp);
    return { ...out, desired: clamp(out.desired) };
  }
  return { desired: clamp(desired), reason };
}

/** The way out, with the queue's history (see `autoscale`). */
function scaleOut(
  current: number,
  wanted: number,
  reason: string,
  aged: boolean,
  load: QueueLoad,
  policy: AutoscalePolicy,
  history: ScalingHistory,
  clamp: (n: number) => number,
): ScalingDecision {
  const { now, work: recent } = history;
  // An operator's change since is a new start: only the autoscaler's own steps are judged.
  const lastManual = history.events.findIndex((e) => e.source === 'manual');
  const own = (lastManual < 0 ? history.events : history.events.slice(0, lastManual)).filter(
    (e) => e.source === 'autoscaler',
  );
  const hold = own.find((e) => e.holdUntil !== undefined && e.ceiling !== undefined);
  if (hold?.ceiling !== undefined && hold.holdUntil !== undefined && Date.parse(hold.holdUntil) > now) {
    if (current >= hold.ceiling)
      return {
        desired: current,
        reason: `${reason}; held at ${hold.ceiling}: more workers did not raise the rate (until ${clock(hold.holdUntil)})`,
      };
    wanted = Math.min(wanted, hold.ceiling);
  }
  // The last step out, judged at the next tick against the rate before it, when a minute can
  // show it: enough completions on both sides, and jobs short enough to finish within it.
  const last = own[0];
  const sinceLast = last ? now - Date.parse(last.at) : Number.POSITIVE_INFINITY;
  const minRate = policy.minJudgedCompletions / 60;
  const judgeable =
    last !== undefined &&
    last.to > last.from &&
    last.to === current &&
    last.rate !== undefined &&
    last.rate >= minRate &&
    sinceLast < policy.judgeWithinMs &&
    (recent?.meanRunMs ?? 0) <= policy.maxJudgedRunMs;
  if (judgeable && sinceLast < policy.judgeAfterMs)
    return {
      desired: current,
      reason: `${reason}; waiting to judge the step out ${last.from} → ${last.to} of ${clock(last.at)}`,
    };
  if (judgeable && last.rate !== undefined && recent && recent.completed >= policy.minJudgedCompletions) {
    const needed = last.rate * (1 + policy.minGainShare * (last.to / last.from - 1));
    if (recent.completedPerS < needed) {
      const holdUntil = new Date(now + policy.holdMs).toISOString();
      // Back within the bounds (an operator may have raised the minimum since).
      const back = clamp(last.from);
      return {
        desired: back,
        reason: `undoing the step out ${last.from} → ${last.to} of ${clock(last.at)}: the rate went from ${perSecond(last.rate)} to ${perSecond(recent.completedPerS)}, not the ${perSecond(needed)} it needed; back to ${back}, no higher until ${clock(holdUntil)}`,
        ceiling: back,
        holdUntil,
      };
    }
  }
  // A backlog younger than the measured time: the workers were idle for part of it, so the
  // rate is the completions over the backlog's age, 20 s at least (an estimate that errs high:
  // it holds a step back, and a job waiting too long in a backlog that does not shrink still
  // gets its workers).
  const young =
    recent !== null && load.oldestWaitingMs !== null && load.oldestWaitingMs < recent.seconds * 1000;
  const rate = !recent
    ? 0
    : young
      ? recent.completed / Math.max((load.oldestWaitingMs ?? 0) / 1000, 20)
      : recent.completedPerS;
  // A job waiting too long steps out whatever the rate, unless the backlog shrank since the
  // last tick fast enough to be gone within the minute (a drain whose oldest jobs waited from
  // its start). A backlog that merely holds its size, arrivals matching completions, does not.
  const { previous } = history;
  const sincePrevious = previous ? (now - Date.parse(previous.at)) / 1000 : 0;
  const draining =
    previous !== undefined &&
    sincePrevious > 0 &&
    sincePrevious * 1000 < policy.judgeWithinMs &&
    load.depth <= ((previous.depth - load.depth) / sincePrevious) * (policy.clearWithinMs / 1000);
  if ((!aged || draining) && rate > 0 && load.depth <= (rate * policy.clearWithinMs) / 1000)
    return {
      desired: current,
      reason: `${reason}; the ${load.depth} waiting clear within ${Math.round(policy.clearWithinMs / 1000)} s at ${perSecond(rate)}: no more workers`,
    };
  const step = Math.ceil(current * policy.maxStepFactor);
  const baseline = recent && !young ? { rate: Math.round(recent.completedPerS * 100) / 100 } : {};
  return wanted > step
    ? { desired: step, reason: `${reason}; at most ×${policy.maxStepFactor} per tick`, ...baseline }
    : { desired: wanted, reason, ...baseline };
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
