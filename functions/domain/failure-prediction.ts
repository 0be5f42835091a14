/**
 * Failure prediction: the chance that a job will complete (eventually, within its attempts) and
 * how long it will run, before it is submitted. POST /jobs/predict, `"predict": true` on
 * POST /jobs, GET /analytics/models; trained every hour (scheduled/model-trainer.ts).
 *
 * Model: logistic regression on standardised features, fitted by gradient descent on the
 * weighted mean log-loss with an L2 penalty. Features (`featuresOf`): the job type and queue,
 * priority, payload size (log₂ bytes) and field count, hour of day (sin/cos), the type's recent
 * failure rate, and the payload's own top-level fields per type — numbers and booleans as
 * values, short strings one-hot. Samples are weighted (a stratified sample stands for the
 * window's counts). The newest fifth of the samples is held out: accuracy (threshold ½), the
 * majority-class baseline, AUC and calibration are measured on it with a fit on the rest; the
 * model that predicts is then fitted on all the samples.
 *
 * Duration: per type, the mean run time and its least-squares slope on payload size.
 *
 * The fit is written here rather than taken from ml-logistic-regression (mljs): that package
 * fits without an intercept, without regularisation or sample weights, and with a step that
 * grows with the number of samples. Sparse sums keep an iteration O(non-zero features).
 */

import type { JobRecord } from './jobs.ts';
import type { StoredBucket } from './throughput.ts';

export interface PredictionInput {
  readonly queue: string;
  readonly type: string;
  readonly payload?: Record<string, unknown>;
  readonly priority?: number;
  /** When the job is (was) submitted: the hour of day. */
  readonly at: string;
  /** The type's failed share of attempts in the hour before `at` (0–1), if known. */
  readonly recentFailureRate?: number;
}

export interface TrainingSample extends PredictionInput {
  readonly succeeded: boolean;
  /** A completed job's run time. */
  readonly runMs?: number;
  /** How many jobs of the window this sample stands for (default 1). */
  readonly weight?: number;
}

const payloadBytes = (payload: Record<string, unknown> | undefined) =>
  new TextEncoder().encode(JSON.stringify(payload ?? {})).length;

/** A job's features by name (sparse: absent means 0). */
export function featuresOf(job: PredictionInput): Record<string, number> {
  const payload = job.payload ?? {};
  const hour = new Date(job.at).getUTCHours() + new Date(job.at).getUTCMinutes() / 60;
  const features: Record<string, number> = {
    [`type=${job.type}`]: 1,
    [`queue=${job.queue}`]: 1,
    priority: job.priority ?? 5,
    'payload.log2Bytes': Math.log2(1 + payloadBytes(payload)),
    'payload.fields': Object.keys(payload).length,
    'hour.sin': Math.sin((2 * Math.PI * hour) / 24),
    'hour.cos': Math.cos((2 * Math.PI * hour) / 24),
    'type.recentFailureRate': job.recentFailureRate ?? 0,
    // A type's own daily rhythm (a partner's nightly maintenance): one-hot by UTC hour.
    [`${job.type}@hour=${String(Math.floor(hour)).padStart(2, '0')}`]: 1,
  };
  for (const [key, value] of Object.entries(payload)) {
    if (typeof value === 'number' && Number.isFinite(value)) features[`${job.type}.${key}`] = value;
    else if (typeof value === 'boolean') features[`${job.type}.${key}`] = value ? 1 : 0;
    else if (typeof value === 'string' && value.length <= 40) features[`${job.type}.${key}=${value}`] = 1;
  }
  return features;
}

export interface CalibrationBin {
  readonly from: number;
  readonly to: number;
  readonly predicted: number | null;
  readonly observed: number | null;
  readonly count: number;
}

export interface ModelQuality {
  readonly heldOut: number;
  readonly accuracy: number | null;
  /** Always predicting the held-out set's more common outcome. */
  readonly baselineAccuracy: number | null;
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly calibration: readonly CalibrationBin[];
}

export interface TypeDuration {
  readonly meanMs: number;
  readonly meanBytes: number;
  readonly msPerKb: number;
  readonly samples: number;
}

export interface FailureModel {
  readonly name: 'failure-prediction';
  readonly trainedAt: string;
  readonly window: { readonly from: string; readonly to: string };
  readonly samples: number;
  /** Weighted share of samples that completed. */
  readonly successRate: number;
  readonly features: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly weights: readonly number[];
  readonly bias: number;
  readonly quality: ModelQuality;
  readonly durations: Readonly<Record<string, TypeDuration>>;
  /** The types seen in training. */
  readonly types: readonly string[];
}

export const trainingDefaults = {
  iterations: 500,
  learningRate: 1,
  l2: 1e-3,
  /** A feature must occur in this many samples to be kept… */
  minSupport: 3,
  /** …and at most this many features are kept (the most frequent). */
  maxFeatures: 300,
  heldOutShare: 0.2,
  /** Fewer samples than this: no model. */
  minSamples: 20,
} as const;

const sigmoid = (z: number) => 1 / (1 + Math.exp(-Math.max(-35, Math.min(35, z))));

interface Encoded {
  /** Per sample: feature indices and their raw values. */
  readonly index: Int32Array[];
  readonly value: Float64Array[];
  readonly y: Float64Array;
  readonly w: Float64Array;
}

function encode(samples: readonly TrainingSample[], features: readonly string[]): Encoded {
  const position = new Map(features.map((f, i) => [f, i]));
  const index: Int32Array[] = [];
  const value: Float64Array[] = [];
  for (const s of samples) {
    const entries = Object.entries(featuresOf(s)).filter(([f]) => position.has(f));
    index.push(Int32Array.from(entries.map(([f]) => position.get(f) as number)));
    value.push(Float64Array.from(entries.map(([, v]) => v)));
  }
  return {
    index,
    value,
    y: Float64Array.from(samples.map((s) => (s.succeeded ? 1 : 0))),
    w: Float64Array.from(samples.map((s) => s.weight ?? 1)),
  };
}

interface Fit {
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly weights: Float64Array;
  bias: number;
}

/** The standardised score w·z + b of one sample, from its sparse raw values. */
function score(fit: Fit, index: Int32Array, value: Float64Array, offset: number): number {
  let z = fit.bias + offset;
  for (let k = 0; k < index.length; k++) {
    const j = index[k] as number;
    z += ((fit.weights[j] as number) * (value[k] as number)) / (fit.std[j] as number);
  }
  return z;
}

/** Σ_j −w_j·m_j/s_j: the part of every score that the zeros of a sparse sample contribute. */
function zeroOffset(fit: Fit): number {
  let offset = 0;
  for (let j = 0; j < fit.weights.length; j++)
    offset -= ((fit.weights[j] as number) * (fit.mean[j] as number)) / (fit.std[j] as number);
  return offset;
}

function fitLogistic(data: Encoded, dimensions: number): Fit {
  const n = data.y.length;
  const totalWeight = data.w.reduce((a, b) => a + b, 0) || 1;
  const mean = new Float64Array(dimensions);
  const square = new Float64Array(dimensions);
  for (let i = 0; i < n; i++) {
    const w = data.w[i] as number;
    const index = data.index[i] as Int32Array;
    const value = data.value[i] as Float64Array;
    for (let k = 0; k < index.length; k++) {
      const j = index[k] as number;
      mean[j] = (mean[j] as number) + w * (value[k] as number);
      square[j] = (square[j] as number) + w * (value[k] as number) ** 2;
    }
  }
  const std = new Float64Array(dimensions);
  for (let j = 0; j < dimensions; j++) {
    mean[j] = (mean[j] as number) / totalWeight;
    const variance = (square[j] as number) / totalWeight - (mean[j] as number) ** 2;
    std[j] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  const positives = data.y.reduce((a, y, i) => a + y * (data.w[i] as number), 0) / totalWeight;
  const fit: Fit = {
    mean,
    std,
    weights: new Float64Array(dimensions),
    // Starting at the base rate's log-odds makes the first steps about the features.
    bias: Math.log(Math.max(1e-6, positives) / Math.max(1e-6, 1 - positives)),
  };
  const { iterations, learningRate, l2 } = trainingDefaults;
  const gradient = new Float64Array(dimensions);
  for (let step = 0; step < iterations; step++) {
    gradient.fill(0);
    let gradientSum = 0;
    const offset = zeroOffset(fit);
    for (let i = 0; i < n; i++) {
      const index = data.index[i] as Int32Array;
      const value = data.value[i] as Float64Array;
      const g =
        ((data.w[i] as number) * (sigmoid(score(fit, index, value, offset)) - (data.y[i] as number))) /
        totalWeight;
      gradientSum += g;
      for (let k = 0; k < index.length; k++) {
        const j = index[k] as number;
        gradient[j] = (gradient[j] as number) + g * (value[k] as number);
      }
    }
    // ∂/∂w_j of Σ g_i (x_ij − m_j)/s_j, with the zeros' share through m_j.
    for (let j = 0; j < dimensions; j++) {
      const d = ((gradient[j] as number) - (fit.mean[j] as number) * gradientSum) / (fit.std[j] as number);
      fit.weights[j] = (fit.weights[j] as number) - learningRate * (d + l2 * (fit.weights[j] as number));
    }
    fit.bias -= learningRate * gradientSum;
  }
  return fit;
}

/** Weighted AUC: the chance that a random success scores above a random failure. */
export function areaUnderCurve(scored: readonly { p: number; y: number; w: number }[]): number | null {
  const positives = scored.reduce((a, s) => a + (s.y ? s.w : 0), 0);
  const negatives = scored.reduce((a, s) => a + (s.y ? 0 : s.w), 0);
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...scored].sort((a, b) => a.p - b.p);
  let negativesBelow = 0;
  let area = 0;
  for (let i = 0; i < sorted.length; ) {
    // Ties count half.
    let j = i;
    let tiePositives = 0;
    let tieNegatives = 0;
    while (j < sorted.length && (sorted[j] as { p: number }).p === (sorted[i] as { p: number }).p) {
      const s = sorted[j] as { y: number; w: number };
      if (s.y) tiePositives += s.w;
      else tieNegatives += s.w;
      j++;
    }
    area += tiePositives * (negativesBelow + tieNegatives / 2);
    negativesBelow += tieNegatives;
    i = j;
  }
  return area / (positives * negatives);
}

function qualityOf(scored: readonly { p: number; y: number; w: number }[]): ModelQuality {
  const total = scored.reduce((a, s) => a + s.w, 0);
  if (total === 0)
    return { heldOut: 0, accuracy: null, baselineAccuracy: null, auc: null, logLoss: null, calibration: [] };
  const correct = scored.reduce((a, s) => a + ((s.p >= 0.5 ? 1 : 0) === s.y ? s.w : 0), 0);
  const successes = scored.reduce((a, s) => a + s.y * s.w, 0);
  const logLoss =
    -scored.reduce((a, s) => a + s.w * Math.log(Math.max(1e-12, s.y ? s.p : 1 - s.p)), 0) / total;
  const calibration = [0, 0.2, 0.4, 0.6, 0.8].map((from) => {
    const to = from + 0.2;
    const inBin = scored.filter((s) => s.p >= from && (s.p < to || (to >= 1 && s.p <= 1)));
    const weight = inBin.reduce((a, s) => a + s.w, 0);
    return {
      from: round(from),
      to: round(to),
      predicted: weight ? round(inBin.reduce((a, s) => a + s.p * s.w, 0) / weight) : null,
      observed: weight ? round(inBin.reduce((a, s) => a + s.y * s.w, 0) / weight) : null,
      count: inBin.length,
    };
  });
  const auc = areaUnderCurve(scored);
  return {
    heldOut: scored.length,
    accuracy: round(correct / total),
    baselineAccuracy: round(Math.max(successes, total - successes) / total),
    auc: auc === null ? null : round(auc),
    logLoss: round(logLoss),
    calibration,
  };
}

const round = (x: number) => Number(x.toFixed(4));

function durationsOf(samples: readonly TrainingSample[]): Record<string, TypeDuration> {
  const byType = new Map<string, { x: number; y: number }[]>();
  for (const s of samples) {
    if (!s.succeeded || s.runMs === undefined) continue;
    const points = byType.get(s.type) ?? [];
    points.push({ x: payloadBytes(s.payload), y: s.runMs });
    byType.set(s.type, points);
  }
  return Object.fromEntries(
    [...byType.entries()].map(([type, points]) => {
      const n = points.length;
      const mx = points.reduce((a, p) => a + p.x, 0) / n;
      const my = points.reduce((a, p) => a + p.y, 0) / n;
      const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
      const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
      return [
        type,
        {
          meanMs: Math.round(my),
          meanBytes: Math.round(mx),
          msPerKb: sxx > 0 ? Number(((sxy / sxx) * 1024).toFixed(3)) : 0,
          samples: n,
        },
      ];
    }),
  );
}

/** The features kept for a training set: frequent enough, at most maxFeatures, sorted. */
function vocabularyOf(training: readonly TrainingSample[]): string[] {
  const support = new Map<string, number>();
  for (const s of training)
    for (const f of Object.keys(featuresOf(s))) support.set(f, (support.get(f) ?? 0) + 1);
  return [...support.entries()]
    .filter(([, count]) => count >= trainingDefaults.minSupport)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, trainingDefaults.maxFeatures)
    .map(([f]) => f)
    .sort();
}

function modelOf(
  training: readonly TrainingSample[],
  all: readonly TrainingSample[],
  window: { from: string; to: string },
  trainedAt: Date,
): FailureModel {
  const features = vocabularyOf(training);
  const fit = fitLogistic(encode(training, features), features.length);
  const weightOf = (list: readonly TrainingSample[], success: boolean | undefined) =>
    list.reduce((a, s) => a + (success === undefined || s.succeeded === success ? (s.weight ?? 1) : 0), 0);
  return {
    name: 'failure-prediction',
    trainedAt: trainedAt.toISOString(),
    window,
    samples: all.length,
    successRate: round(weightOf(all, true) / weightOf(all, undefined)),
    features,
    mean: [...fit.mean].map((m) => Number(m.toPrecision(6))),
    std: [...fit.std].map((m) => Number(m.toPrecision(6))),
    weights: [...fit.weights].map((m) => Number(m.toPrecision(6))),
    bias: Number(fit.bias.toPrecision(6)),
    quality: qualityOf([]),
    durations: durationsOf(training),
    types: [...new Set(training.map((s) => s.type))].sort(),
  };
}

/**
 * Measures the procedure on the newest fifth with a fit on the rest, then fits the model that
 * predicts on all the samples (the newest jobs are the most telling); undefined: too few.
 */
export function trainFailureModel(
  samples: readonly TrainingSample[],
  window: { from: string; to: string },
  trainedAt: Date,
): FailureModel | undefined {
  if (samples.length < trainingDefaults.minSamples) return undefined;
  const ordered = [...samples].sort((a, b) => a.at.localeCompare(b.at));
  const cut = Math.floor(ordered.length * (1 - trainingDefaults.heldOutShare));
  const measured = modelOf(ordered.slice(0, cut), ordered, window, trainedAt);
  const scored = ordered.slice(cut).map((s) => ({
    p: predictWith(measured, s).successProbability,
    y: s.succeeded ? 1 : 0,
    w: s.weight ?? 1,
  }));
  return { ...modelOf(ordered, ordered, window, trainedAt), quality: qualityOf(scored) };
}

export interface Prediction {
  readonly successProbability: number;
  readonly expectedDurationMs: number | null;
  readonly reasons: readonly string[];
}

function describeFeature(name: string, value: number): string {
  if (name.startsWith('type=')) return `job type ${name.slice(5)}`;
  if (name.startsWith('queue=')) return `queue ${name.slice(6)}`;
  if (name === 'priority') return `priority ${value}`;
  if (name === 'payload.log2Bytes') return `payload size ${Math.round(2 ** value - 1)} bytes`;
  if (name === 'payload.fields') return `${value} payload fields`;
  if (name === 'hour.sin' || name === 'hour.cos') return 'hour of day';
  if (name.includes('@hour=')) return `hour ${name.slice(-2)} UTC for ${name.split('@')[0]}`;
  if (name === 'type.recentFailureRate')
    return `the type's failure rate in the last hour (${Math.round(value * 100)}%)`;
  const field = name.slice(name.indexOf('.') + 1);
  return field.includes('=') ? `payload ${field}` : `payload ${field} = ${value}`;
}

/** The model's prediction for a job, with the features that moved it most. */
export function predictWith(model: FailureModel, job: PredictionInput): Prediction {
  const features = featuresOf(job);
  const position = new Map(model.features.map((f, i) => [f, i]));
  const contributions = new Map<string, { value: number; contribution: number }>();
  let z = model.bias;
  for (let j = 0; j < model.features.length; j++) {
    const name = model.features[j] as string;
    const raw = features[name] ?? 0;
    const c = ((model.weights[j] as number) * (raw - (model.mean[j] as number))) / (model.std[j] as number);
    z += c;
    if (raw === 0 && !name.startsWith('hour.')) continue;
    const label = describeFeature(name, raw);
    const seen = contributions.get(label);
    contributions.set(label, { value: raw, contribution: (seen?.contribution ?? 0) + c });
  }
  const successProbability = round(sigmoid(z));
  const reasons = [...contributions.entries()]
    .sort((a, b) => Math.abs(b[1].contribution) - Math.abs(a[1].contribution))
    .slice(0, 3)
    .filter(([, c]) => Math.abs(c.contribution) >= 0.05)
    .map(
      ([label, c]) =>
        `${label} ${c.contribution > 0 ? 'raises' : 'lowers'} the chance (${c.contribution > 0 ? '+' : ''}${c.contribution.toFixed(2)} log-odds)`,
    );
  if (!model.types.includes(job.type))
    reasons.unshift(
      `no history of job type ${job.type} in the training window: mostly the factory-wide rate`,
    );
  const unseen = Object.keys(features)
    .filter((f) => f.startsWith(`${job.type}.`) && !position.has(f))
    .map((f) => f.slice(job.type.length + 1));
  if (unseen.length > 0 && model.types.includes(job.type))
    reasons.push(`payload values not seen in training (no weight): ${unseen.join(', ')}`);
  const duration = model.durations[job.type];
  const expectedDurationMs = duration
    ? Math.max(
        0,
        Math.round(
          duration.meanMs + (duration.msPerKb * (payloadBytes(job.payload) - duration.meanBytes)) / 1024,
        ),
      )
    : null;
  return { successProbability, expectedDurationMs, reasons };
}

/** What GET /analytics/models shows of a model (not its weights). */
export function modelSummary(model: FailureModel) {
  return {
    name: model.name,
    kind: 'logistic regression (L2, gradient descent)',
    trainedAt: model.trainedAt,
    trainingWindow: model.window,
    samples: model.samples,
    successRate: model.successRate,
    features: model.features.length,
    types: model.types,
    quality: model.quality,
    durations: model.durations,
    topFeatures: model.features
      .map((f, j) => ({ feature: f, weight: Number((model.weights[j] as number).toFixed(3)) }))
      .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
      .slice(0, 10),
  };
}

/** The type's failed share of attempts in a set of buckets (null: no attempts). */
export function failureRateOf(buckets: readonly StoredBucket[], type: string): number | null {
  let completed = 0;
  let failed = 0;
  for (const b of buckets) {
    if (b.type !== type) continue;
    completed += b.counters.completed ?? 0;
    failed += b.counters.failed ?? 0;
  }
  return completed + failed === 0 ? null : failed / (completed + failed);
}

/**
 * Training samples from finished jobs read per (queue, outcome) stratum, each weighted by how
 * many jobs of the window its stratum stands for (the hour buckets count them all), with the
 * type's failure rate in the hour before each job was created.
 */
export function trainingSamplesOf(
  strata: readonly { queue: string; status: 'COMPLETED' | 'DEAD'; jobs: readonly JobRecord[] }[],
  hourBuckets: readonly StoredBucket[],
): TrainingSample[] {
  const counted = new Map<string, number>();
  const hourly = new Map<string, StoredBucket[]>();
  for (const b of hourBuckets) {
    for (const status of ['COMPLETED', 'DEAD'] as const) {
      const key = `${b.queue}#${status}`;
      counted.set(
        key,
        (counted.get(key) ?? 0) + (b.counters[status === 'COMPLETED' ? 'completed' : 'dead'] ?? 0),
      );
    }
    const key = `${b.queue}#${b.bucket}`;
    hourly.set(key, [...(hourly.get(key) ?? []), b]);
  }
  return strata.flatMap(({ queue, status, jobs }) => {
    const weight = Math.max(1, (counted.get(`${queue}#${status}`) ?? 0) / Math.max(1, jobs.length));
    return jobs.map((job) => {
      const hourBefore = new Date(
        Math.floor(Date.parse(job.createdAt) / 3_600_000) * 3_600_000 - 3_600_000,
      ).toISOString();
      const rate = failureRateOf(hourly.get(`${queue}#${hourBefore}`) ?? [], job.type);
      const runMs =
        status === 'COMPLETED' && job.startedAt && job.completedAt
          ? Math.max(0, Date.parse(job.completedAt) - Date.parse(job.startedAt))
          : undefined;
      return {
        queue,
        type: job.type,
        ...(job.payload ? { payload: job.payload } : {}),
        priority: job.priority,
        at: job.createdAt,
        ...(rate === null ? {} : { recentFailureRate: rate }),
        succeeded: status === 'COMPLETED',
        ...(runMs === undefined ? {} : { runMs }),
        weight,
      };
    });
  });
}

export interface TrainingPorts {
  readonly queues: readonly string[];
  newestFinished(
    queue: string,
    status: 'COMPLETED' | 'DEAD',
    from: string,
    to: string,
    limit: number,
  ): Promise<readonly JobRecord[]>;
  hourBuckets(queue: string, from: Date, to: Date): Promise<readonly StoredBucket[]>;
  save(model: FailureModel): Promise<void>;
}

export const trainingWindow = {
  days: 7,
  /** Jobs read per queue and outcome: bounds the trainer's reads whatever the volume. */
  perStratum: 2000,
} as const;

/** One retraining: the last week's finished jobs, stratified and reweighted; saved when enough. */
export async function retrainFailureModel(
  ports: TrainingPorts,
  now: Date,
): Promise<{ trained: false; samples: number } | { trained: true; model: FailureModel }> {
  const to = now.toISOString();
  const fromDate = new Date(now.getTime() - trainingWindow.days * 86_400_000);
  const from = fromDate.toISOString();
  const strata = await Promise.all(
    ports.queues.flatMap((queue) =>
      (['COMPLETED', 'DEAD'] as const).map(async (status) => ({
        queue,
        status,
        jobs: await ports.newestFinished(queue, status, from, to, trainingWindow.perStratum),
      })),
    ),
  );
  // From an hour earlier: the first jobs' "hour before".
  const buckets = (
    await Promise.all(
      ports.queues.map((q) => ports.hourBuckets(q, new Date(fromDate.getTime() - 3_600_000), now)),
    )
  ).flat();
  const samples = trainingSamplesOf(strata, buckets);
  const model = trainFailureModel(samples, { from, to }, now);
  if (!model) return { trained: false, samples: samples.length };
  await ports.save(model);
  return { trained: true, model };
}
