/**
 * GET /analytics/forecast: a queue's job volume for the next days, hour by hour, from its hour
 * buckets (jobs submitted per hour), and the workers each hour needs to meet the queue's SLA.
 *
 * Model: seasonal means with a linear trend, fitted together by least squares:
 * y(t) = m(slot of t) + b·t, one mean m per slot of the season and one slope b for all.
 * - Season: the hour of the week (Monday 00:00 UTC = 0) when the history holds two weeks, so
 *   that every hour of the week is seen twice; else the hour of the day (two days of history);
 *   else none (a flat mean).
 * - Fit: the slope is the within-slot least-squares slope (each slot's counts against time,
 *   measured from that slot's own means), so a weekly rhythm is not taken for a trend; each
 *   slot's mean is then its counts' mean minus the slope at its mean time. Below two days of
 *   history there is no slope.
 * - Forecast at t: max(0, m(slot) + b·t), with an 80% interval of ±1.28 residual standard
 *   deviations (the fit's residuals, over its degrees of freedom).
 * Quality: the last day is held out, the model fitted on the rest forecasts it, and its mean
 * absolute error is given beside a flat forecast's (the training mean).
 *
 * Why not Holt-Winters: with a weekly season (168 hours) it needs two weeks just to initialise
 * its seasonal states, each state learns once a week, and its three smoothing constants need
 * fitting on the same short history; seasonal means plus a trend use every observation, are
 * exact on small data, and say plainly what they assume.
 */
import { bucketValue } from './histogram.ts';
import { workersForSla } from './scaling-advice.ts';
import type { StoredBucket } from './throughput.ts';

const hour = 3_600_000;
export const hoursPerWeek = 168;

export type Season = 'hour-of-week' | 'hour-of-day' | 'none';

export interface VolumeModel {
  readonly season: Season;
  /** Jobs per hour at t = 0 (the first history hour) without the season: the plain mean line. */
  readonly level: number;
  readonly trendPerHour: number;
  /** Each slot's mean at t = 0 (hour of week, hour of day, or the one slot); null if never seen. */
  readonly slotMeans: readonly (number | null)[];
  readonly residualSd: number;
  readonly historyStart: number;
  readonly historyHours: number;
}

const slotOf = (season: Season, at: number): number => {
  const d = new Date(at);
  if (season === 'hour-of-week') return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
  return season === 'hour-of-day' ? d.getUTCHours() : 0;
};

/** Fits the model to hourly counts, oldest first, the first at `historyStart` (an hour's start, ms). */
export function fitVolumeModel(counts: readonly number[], historyStart: number): VolumeModel {
  const n = counts.length;
  const season: Season = n >= 2 * hoursPerWeek ? 'hour-of-week' : n >= 48 ? 'hour-of-day' : 'none';
  const slots = season === 'hour-of-week' ? hoursPerWeek : season === 'hour-of-day' ? 24 : 1;
  const slotAt = (t: number) => slotOf(season, historyStart + t * hour);
  const seen = Array<number>(slots).fill(0);
  const tSums = Array<number>(slots).fill(0);
  const ySums = Array<number>(slots).fill(0);
  counts.forEach((y, t) => {
    const k = slotAt(t);
    seen[k] = (seen[k] ?? 0) + 1;
    tSums[k] = (tSums[k] ?? 0) + t;
    ySums[k] = (ySums[k] ?? 0) + y;
  });
  const tMean = (k: number) => (tSums[k] ?? 0) / (seen[k] || 1);
  const yMean = (k: number) => (ySums[k] ?? 0) / (seen[k] || 1);
  let trendPerHour = 0;
  if (n >= 48) {
    let sxy = 0;
    let sxx = 0;
    counts.forEach((y, t) => {
      const k = slotAt(t);
      sxy += (t - tMean(k)) * (y - yMean(k));
      sxx += (t - tMean(k)) ** 2;
    });
    trendPerHour = sxx > 0 ? sxy / sxx : 0;
  }
  const slotMeans = seen.map((count, k) => (count ? yMean(k) - trendPerHour * tMean(k) : null));
  const mean = n ? counts.reduce((a, b) => a + b, 0) / n : 0;
  const level = mean - trendPerHour * ((n - 1) / 2);
  let squares = 0;
  counts.forEach((y, t) => {
    squares += (y - ((slotMeans[slotAt(t)] ?? level) + trendPerHour * t)) ** 2;
  });
  const freedom = Math.max(1, n - slots - (n >= 48 ? 1 : 0));
  return {
    season,
    level,
    trendPerHour,
    slotMeans,
    residualSd: Math.sqrt(squares / freedom),
    historyStart,
    historyHours: n,
  };
}

/** The model's expected count for the hour starting at `at` (ms). */
export function expectedAt(model: VolumeModel, at: number): number {
  const t = (at - model.historyStart) / hour;
  const base = model.slotMeans[slotOf(model.season, at)] ?? model.level;
  return Math.max(0, base + model.trendPerHour * t);
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Held-out quality: fitted without the last 24 hours, measured on them. */
export function holdoutQuality(counts: readonly number[], historyStart: number) {
  const held = 24;
  if (counts.length < held + 48) return null;
  const training = counts.slice(0, -held);
  const model = fitVolumeModel(training, historyStart);
  const flat = training.reduce((a, b) => a + b, 0) / training.length;
  let error = 0;
  let flatError = 0;
  counts.slice(-held).forEach((y, i) => {
    error += Math.abs(y - expectedAt(model, historyStart + (training.length + i) * hour));
    flatError += Math.abs(y - flat);
  });
  return {
    heldOutHours: held,
    meanAbsoluteError: round(error / held),
    flatForecastError: round(flatError / held),
  };
}

/**
 * Jobs submitted per hour from a queue's hour buckets over [from, to), oldest first, starting at
 * the first hour that has any (hours before the queue's first job are no history of it).
 */
export function hourlyCounts(buckets: readonly StoredBucket[], from: number, to: number) {
  const byHour = new Map<number, number>();
  for (const b of buckets) {
    const at = Date.parse(b.bucket);
    if (at < from || at >= to) continue;
    byHour.set(at, (byHour.get(at) ?? 0) + (b.counters.submitted ?? 0));
  }
  const first = Math.min(...[...byHour.entries()].filter(([, n]) => n > 0).map(([at]) => at));
  if (!Number.isFinite(first)) return { start: to, counts: [] as number[] };
  const counts: number[] = [];
  for (let at = first; at < to; at += hour) counts.push(byHour.get(at) ?? 0);
  return { start: first, counts };
}

/** Mean run time of the completed jobs the buckets count: the exact sums where kept, else the histograms. */
export function meanRunMsOf(buckets: readonly StoredBucket[]): number | null {
  let sum = 0;
  let runs = 0;
  for (const { counters } of buckets)
    for (const [key, count] of Object.entries(counters)) {
      if (!/^r\d+$/.test(key)) continue;
      runs += count;
      if (counters.runMsSum === undefined) sum += bucketValue(Number(key.slice(1))) * count;
    }
  for (const { counters } of buckets) sum += counters.runMsSum ?? 0;
  return runs ? sum / runs : null;
}

export interface ForecastInput {
  readonly queue: string;
  /** Jobs submitted per hour, oldest first, the first hour starting at `historyStart` (ms). */
  readonly counts: readonly number[];
  readonly historyStart: number;
  /** The first hour to forecast (ms): the hour after the history. */
  readonly from: number;
  readonly hours: number;
  /** Mean run time of the queue's jobs over the history (ms), if any ran. */
  readonly meanRunMs: number | null;
  readonly sla?: { readonly withinMs: number; readonly percent: number };
  readonly maxWorkers: number;
}

/** z of the 80% interval of a normal distribution. */
const z80 = 1.2816;

export function volumeForecast(input: ForecastInput) {
  const model = fitVolumeModel(input.counts, input.historyStart);
  const serviceMs = input.meanRunMs;
  const points = Array.from({ length: input.hours }, (_, i) => {
    const at = input.from + i * hour;
    const jobs = expectedAt(model, at);
    const workers =
      input.sla && serviceMs ? (workersForSla(jobs, serviceMs, input.sla, input.maxWorkers) ?? null) : null;
    return {
      hour: new Date(at).toISOString(),
      jobs: round(jobs),
      low: round(Math.max(0, jobs - z80 * model.residualSd)),
      high: round(jobs + z80 * model.residualSd),
      ...(input.sla && serviceMs ? { workers } : {}),
    };
  });
  const peak = points.reduce<(typeof points)[number] | undefined>(
    (best, p) => (!best || p.jobs > best.jobs ? p : best),
    undefined,
  );
  return {
    queue: input.queue,
    model: {
      kind: 'seasonal means with a linear trend',
      season: model.season,
      history: {
        from: new Date(input.historyStart).toISOString(),
        hours: model.historyHours,
        jobs: input.counts.reduce((a, b) => a + b, 0),
      },
      trendPerDay: round(model.trendPerHour * 24, 3),
      residualSd: round(model.residualSd),
      quality: holdoutQuality(input.counts, input.historyStart),
    },
    meanRunMs: serviceMs === null ? null : Math.round(serviceMs),
    sla: input.sla ?? null,
    workersNote: !input.sla
      ? `no SLA on ${input.queue}: PUT /queues/${input.queue}/sla to get the workers each hour needs`
      : !serviceMs
        ? 'no job of the queue ran in the history: no run time to size workers by'
        : 'workers: the fewest that start the SLA’s share of jobs within its time (M/M/c, Erlang C) at the forecast rate; null when more than the queue may have would be needed',
    totalJobs: round(points.reduce((a, p) => a + p.jobs, 0)),
    peak: peak ?? null,
    hours: points,
  };
}
