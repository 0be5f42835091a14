/**
 * Failure prediction on a generated history whose ground truth is known: each job's chance of
 * completing is a function of its type, payload and hour (a bounce domain for mail, oversized
 * images, a partner's nightly maintenance for webhooks), and its outcome is drawn from that
 * chance. The model (functions/domain/failure-prediction.ts) is trained on the history as the
 * hourly trainer would train it and measured on the newest fifth; the accuracy of the true
 * probabilities (the best any model can do on these draws) is printed beside it.
 */
import {
  type FailureModel,
  type TrainingSample,
  trainFailureModel,
} from '../../functions/domain/failure-prediction.ts';
import { seededRandom } from './retry-workload.ts';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** One generated job: its payload and hour, and the true chance that it completes. */
function generatedJob(
  random: () => number,
  at: Date,
): { sample: Omit<TrainingSample, 'succeeded'>; p: number } {
  const hour = at.getUTCHours();
  const pick = random();
  if (pick < 0.35) {
    const domain = random() < 0.15 ? 'bounce.test' : random() < 0.5 ? 'example.com' : 'robots.example';
    return {
      sample: {
        queue: 'notifications',
        type: 'send_email',
        payload: { to: `customer@${domain}`, domain, subject: 'Your robot shipped', body: 'x'.repeat(200) },
        at: at.toISOString(),
      },
      p: sigmoid(domain === 'bounce.test' ? -3 : 3),
    };
  }
  if (pick < 0.65) {
    const nightly = hour >= 2 && hour < 4;
    return {
      sample: {
        queue: 'notifications',
        type: 'webhook_call',
        payload: { url: 'https://partner.example/hooks', method: 'POST' },
        at: at.toISOString(),
      },
      p: sigmoid(nightly ? -2.5 : 2.5),
    };
  }
  if (pick < 0.9) {
    const width = Math.round(200 + random() * 7800);
    return {
      sample: {
        queue: 'media',
        type: 'process_image',
        payload: { width, format: 'png' },
        at: at.toISOString(),
      },
      p: sigmoid((5000 - width) / 600),
      // Run time grows with the image (see the duration model).
    };
  }
  return {
    sample: {
      queue: 'reports',
      type: 'generate_report',
      payload: { from: '2026-11-01', to: '2026-12-01' },
      priority: 8,
      at: at.toISOString(),
    },
    p: 0.97,
  };
}

export interface PredictionBench {
  readonly samples: number;
  readonly model: FailureModel;
  /** Accuracy of predicting with the true chances on the same held-out draws. */
  readonly bayesAccuracy: number;
}

/** One job of the generated history: what was asked, its true chance, and what happened. */
export interface HistoryJob {
  readonly sample: Omit<TrainingSample, 'succeeded' | 'runMs'>;
  /** The true chance that it completes. */
  readonly p: number;
  /** Drawn from `p`: whether it completed (eventually) or died. */
  readonly succeeded: boolean;
  /** How long its successful attempt runs. */
  readonly runMs: number;
}

/**
 * A job arriving at `at`, with its outcome drawn from the ground truth. The bench and
 * `npm run seed-history` (localstack/seed/history.ts, which writes such jobs into a running
 * factory) generate their history with it.
 */
export function historyJob(random: () => number, at: Date): HistoryJob {
  const { sample, p } = generatedJob(random, at);
  const succeeded = random() < p;
  const runMs =
    sample.type === 'process_image'
      ? 50 + Number((sample.payload as { width: number }).width) / 10
      : 20 + random() * 40;
  return { sample, p, succeeded, runMs };
}

/** `days` of history, `perDay` jobs a day, outcomes drawn from the ground truth. */
export function predictionWorkload(days: number, perDay: number, seed: number): PredictionBench {
  const random = seededRandom(seed);
  const start = Date.parse('2026-11-01T00:00:00Z');
  const samples: (TrainingSample & { p: number })[] = [];
  for (let i = 0; i < days * perDay; i++) {
    const at = new Date(start + Math.floor((i / perDay) * 86_400_000));
    const { sample, p, succeeded, runMs } = historyJob(random, at);
    samples.push({ ...sample, succeeded, runMs, p });
  }
  const to = new Date(start + days * 86_400_000).toISOString();
  const model = trainFailureModel(samples, { from: new Date(start).toISOString(), to }, new Date(to));
  if (!model) throw new Error('too few samples to train');
  const heldOut = samples.slice(Math.floor(samples.length * 0.8));
  const bayesAccuracy = heldOut.filter((s) => s.p >= 0.5 === s.succeeded).length / heldOut.length;
  return { samples: samples.length, model, bayesAccuracy: Number(bayesAccuracy.toFixed(4)) };
}

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

export function predictionTable(b: PredictionBench): string[] {
  const q = b.model.quality;
  return [
    `failure prediction — generated history with ground truth: ${b.samples} jobs over 30 days, 4 types; logistic regression on ${b.model.features.length} features, held-out newest 20% (${q.heldOut} jobs)`,
    '',
    '| | accuracy |',
    '|---|---|',
    `| model | ${pct(q.accuracy)} (AUC ${q.auc?.toFixed(3)}, log-loss ${q.logLoss?.toFixed(3)}) |`,
    `| majority-class baseline | ${pct(q.baselineAccuracy)} |`,
    `| the true probabilities (best possible on these draws) | ${pct(b.bayesAccuracy)} |`,
    '',
    `calibration (predicted → observed): ${q.calibration
      .filter((c) => c.count > 0)
      .map((c) => `${pct(c.predicted)} → ${pct(c.observed)} (${c.count})`)
      .join(', ')}`,
    `goal: accuracy > 80% and above the baseline — ${
      (q.accuracy ?? 0) > 0.8 && (q.accuracy ?? 0) > (q.baselineAccuracy ?? 1) ? 'met' : 'NOT met'
    }`,
  ];
}
