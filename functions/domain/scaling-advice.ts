/**
 * How many workers a queue needs: an M/M/c queue (Erlang C) fed with the queue's measured
 * arrival rate and mean run time, from the pre-aggregated buckets (cost independent of the
 * number of jobs). The smallest worker count whose expected wait meets the target is the
 * advice; the reasoning carries every number it came from.
 */
import { bucketValue, type Histogram, merge, total } from './histogram.ts';
import type { StoredBucket } from './throughput.ts';

export interface ErlangC {
  /** Probability that a job has to wait at all. */
  readonly probabilityOfWait: number;
  /** Mean wait before a worker takes it (ms). */
  readonly meanWaitMs: number;
}

/**
 * Erlang C for `servers` workers, offered load `load` = arrival rate × mean service time
 * (Erlangs), by the numerically stable Erlang B recursion. Unstable (load ≥ servers): waits
 * grow without bound.
 */
export function erlangC(servers: number, load: number, serviceMs: number): ErlangC {
  if (load <= 0) return { probabilityOfWait: 0, meanWaitMs: 0 };
  if (servers <= load) return { probabilityOfWait: 1, meanWaitMs: Number.POSITIVE_INFINITY };
  let blocking = 1;
  for (let k = 1; k <= servers; k++) blocking = (load * blocking) / (k + load * blocking);
  const probabilityOfWait = (servers * blocking) / (servers - load * (1 - blocking));
  return { probabilityOfWait, meanWaitMs: (probabilityOfWait * serviceMs) / (servers - load) };
}

/**
 * The chance that a job starts within `withinMs` with `servers` workers (M/M/c): in Erlang C
 * the wait of a job that waits is exponential with rate (c − A) / S, so
 * P(W ≤ t) = 1 − C(c, A) · e^(−(c − A) t / S).
 */
export function waitWithinProbability(
  servers: number,
  load: number,
  serviceMs: number,
  withinMs: number,
): number {
  const { probabilityOfWait } = erlangC(servers, load, serviceMs);
  if (servers <= load) return 0;
  return 1 - probabilityOfWait * Math.exp((-(servers - load) * withinMs) / serviceMs);
}

/**
 * The fewest workers (up to `maxWorkers`) that start `percent`% of jobs within `withinMs`, at
 * `arrivalsPerHour` jobs an hour of `serviceMs` each; undefined when even `maxWorkers` cannot.
 * No arrivals need no worker.
 */
export function workersForSla(
  arrivalsPerHour: number,
  serviceMs: number,
  sla: { readonly withinMs: number; readonly percent: number },
  maxWorkers: number,
): number | undefined {
  if (arrivalsPerHour <= 0) return 0;
  const load = (arrivalsPerHour / 3_600_000) * serviceMs;
  const meets = (workers: number) =>
    waitWithinProbability(workers, load, serviceMs, sla.withinMs) >= sla.percent / 100;
  // More workers never make the wait longer: the fewest that meet it, by bisection.
  let low = Math.max(1, Math.floor(load) + 1);
  let high = maxWorkers;
  if (low > high || !meets(high)) return undefined;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (meets(middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The mean of a run-time histogram (each bucket at its representative value). */
export const meanOf = (histogram: Histogram): number | null => {
  const n = total(histogram);
  if (n === 0) return null;
  let sum = 0;
  for (const [bucket, count] of Object.entries(histogram)) sum += bucketValue(Number(bucket)) * count;
  return sum / n;
};

export interface ScalingAdviceInput {
  readonly queue: string;
  /** The queue's minute buckets over the window (every type). */
  readonly buckets: readonly StoredBucket[];
  readonly windowMs: number;
  readonly targetWaitMs: number;
  readonly currentConcurrency: number;
  /** The most workers the advice may name (the queue's autoscaling bound, or the account's). */
  readonly maxWorkers: number;
}

export interface ScalingAdvice {
  readonly queue: string;
  readonly suggestedWorkers: number;
  readonly currentConcurrency: number;
  readonly arrivalRatePerSecond: number;
  readonly meanRunMs: number | null;
  readonly offeredLoad: number;
  readonly expectedWaitMs: number | null;
  readonly probabilityOfWait: number | null;
  readonly targetWaitMs: number;
  readonly window: { readonly minutes: number; readonly submitted: number; readonly runs: number };
  readonly reasoning: readonly string[];
}

export function scalingAdvice(input: ScalingAdviceInput): ScalingAdvice {
  let submitted = 0;
  const run: Histogram = {};
  for (const b of input.buckets) {
    submitted += b.counters.submitted ?? 0;
    for (const [key, value] of Object.entries(b.counters))
      if (/^r\d+$/.test(key)) merge(run, { [Number(key.slice(1))]: value });
  }
  const minutes = Math.round(input.windowMs / 60_000);
  const arrivalPerMs = submitted / input.windowMs;
  const meanRunMs = meanOf(run);
  const base = {
    queue: input.queue,
    currentConcurrency: input.currentConcurrency,
    arrivalRatePerSecond: round(arrivalPerMs * 1000, 3),
    meanRunMs: meanRunMs === null ? null : Math.round(meanRunMs),
    targetWaitMs: input.targetWaitMs,
    window: { minutes, submitted, runs: total(run) },
  };
  const observed = `${submitted} jobs submitted in the last ${minutes} min (${base.arrivalRatePerSecond}/s)`;
  if (submitted === 0 || meanRunMs === null) {
    return {
      ...base,
      suggestedWorkers: 1,
      offeredLoad: 0,
      expectedWaitMs: null,
      probabilityOfWait: null,
      reasoning: [
        submitted === 0 ? `no job was submitted in the last ${minutes} min` : `${observed}, none has run yet`,
        'one worker keeps the queue ready; nothing measured asks for more',
      ],
    };
  }
  const load = arrivalPerMs * meanRunMs;
  const floor = Math.max(1, Math.floor(load) + 1);
  let workers = floor;
  let wait = erlangC(workers, load, meanRunMs);
  while (wait.meanWaitMs > input.targetWaitMs && workers < input.maxWorkers) {
    workers++;
    wait = erlangC(workers, load, meanRunMs);
  }
  const met = wait.meanWaitMs <= input.targetWaitMs;
  const atCurrent = erlangC(input.currentConcurrency, load, meanRunMs);
  return {
    ...base,
    suggestedWorkers: workers,
    offeredLoad: round(load, 3),
    expectedWaitMs: round(wait.meanWaitMs, 1),
    probabilityOfWait: round(wait.probabilityOfWait, 4),
    reasoning: [
      `${observed}; mean run time ${Math.round(meanRunMs)} ms over ${total(run)} runs`,
      `offered load = arrival rate × mean run time = ${round(load, 3)} workers busy on average; fewer than ${floor} cannot keep up`,
      `with ${workers} workers (M/M/${workers}, Erlang C) a job waits with probability ${round(wait.probabilityOfWait, 3)}, ${round(wait.meanWaitMs, 1)} ms on average${met ? ` — within the ${input.targetWaitMs} ms target` : ` — the target ${input.targetWaitMs} ms is not met within ${input.maxWorkers} workers`}`,
      Number.isFinite(atCurrent.meanWaitMs)
        ? `at today's ${input.currentConcurrency} workers: ${round(atCurrent.meanWaitMs, 1)} ms on average`
        : `today's ${input.currentConcurrency} workers cannot keep up: the backlog grows`,
    ],
  };
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
