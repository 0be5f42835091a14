import { describe, expect, it } from 'vitest';
import {
  areaUnderCurve,
  type FailureModel,
  featuresOf,
  predictWith,
  retrainFailureModel,
  type TrainingSample,
  trainFailureModel,
  trainingSamplesOf,
} from '../../functions/domain/failure-prediction.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { predictionWorkload } from '../../localstack/bench/prediction-workload.ts';

const window = { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' };

describe('failure prediction: the maths', () => {
  it('AUC counts the pairs a score orders right, ties half', () => {
    const s = (p: number, y: number) => ({ p, y, w: 1 });
    expect(areaUnderCurve([s(0.9, 1), s(0.8, 1), s(0.2, 0), s(0.1, 0)])).toBe(1);
    expect(areaUnderCurve([s(0.1, 1), s(0.9, 0)])).toBe(0);
    expect(areaUnderCurve([s(0.5, 1), s(0.5, 0)])).toBe(0.5);
    // 3 of 4 pairs in order.
    expect(areaUnderCurve([s(0.9, 1), s(0.3, 1), s(0.5, 0), s(0.1, 0)])).toBe(0.75);
    expect(areaUnderCurve([s(0.9, 1)])).toBeNull();
  });

  it('features: type, payload values by type, size, hour', () => {
    const f = featuresOf({
      queue: 'media',
      type: 'process_image',
      payload: { width: 4000, format: 'png', huge: 'x'.repeat(100), flag: true },
      at: '2026-11-01T06:00:00Z',
    });
    expect(f).toMatchObject({
      'type=process_image': 1,
      'queue=media': 1,
      'process_image.width': 4000,
      'process_image.format=png': 1,
      'process_image.flag': 1,
      'process_image@hour=06': 1,
      'hour.sin': 1,
    });
    expect(Object.keys(f).some((k) => k.includes('huge'))).toBe(false);
  });

  it('learns a payload field that decides the outcome, and says so in the reasons', () => {
    // Jobs with probability 1 die, with probability 0 complete: separable on one field.
    const samples: TrainingSample[] = Array.from({ length: 60 }, (_, i) => ({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: i % 2 },
      at: new Date(Date.parse(window.from) + i * 60_000).toISOString(),
      succeeded: i % 2 === 0,
      runMs: 100,
    }));
    const model = trainFailureModel(samples, window, new Date(window.to)) as FailureModel;
    expect(model.quality).toMatchObject({ heldOut: 12, accuracy: 1, baselineAccuracy: 0.5, auc: 1 });
    const bad = predictWith(model, {
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 1 },
      at: window.to,
    });
    const good = predictWith(model, {
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 0 },
      at: window.to,
    });
    expect(bad.successProbability).toBeLessThan(0.2);
    expect(good.successProbability).toBeGreaterThan(0.8);
    expect(bad.reasons[0]).toMatch(/^payload probability = 1 lowers the chance/);
    expect(good.expectedDurationMs).toBe(100);
    const unknown = predictWith(model, { queue: 'default', type: 'send_email', payload: {}, at: window.to });
    expect(unknown.reasons[0]).toContain('no history of job type send_email');
  });

  it('needs 20 samples', () => {
    const few = Array.from({ length: 19 }, () => ({
      queue: 'q',
      type: 't',
      at: window.from,
      succeeded: true,
    }));
    expect(trainFailureModel(few, window, new Date())).toBeUndefined();
  });

  it('beats the majority-class baseline and 80% accuracy on the generated month (ground truth known)', () => {
    const bench = predictionWorkload(30, 120, 5);
    const q = bench.model.quality;
    expect(q.accuracy).toBeGreaterThan(0.8);
    expect(q.accuracy).toBeGreaterThan(q.baselineAccuracy as number);
    expect(q.auc).toBeGreaterThan(0.8);
    // Calibrated: in every well-filled bin, observed within 15 points of predicted.
    for (const bin of q.calibration.filter((b) => b.count >= 100))
      expect(Math.abs((bin.observed as number) - (bin.predicted as number))).toBeLessThan(0.15);
  });
});

describe('failure prediction: training from the factory data', () => {
  const job = (i: number, over: Partial<JobRecord>): JobRecord => ({
    jobId: `job_${i}`,
    kind: 'job',
    queue: 'default',
    type: 'fail_sometimes',
    status: 'COMPLETED',
    attempts: 1,
    maxAttempts: 3,
    priority: 5,
    createdAt: new Date(Date.parse('2026-11-01T10:30:00Z') + i * 1000).toISOString(),
    payload: { probability: 0 },
    ...over,
  });

  it('weights each stratum by the jobs of the window it stands for, with the hour before as the recent rate', () => {
    const samples = trainingSamplesOf(
      [
        {
          queue: 'default',
          status: 'COMPLETED',
          jobs: [
            job(1, { startedAt: '2026-11-01T10:30:01Z', completedAt: '2026-11-01T10:30:03Z' }),
            job(2, {}),
          ],
        },
        { queue: 'default', status: 'DEAD', jobs: [job(3, { status: 'DEAD' })] },
      ],
      [
        {
          bucket: '2026-11-01T09:00:00.000Z',
          queue: 'default',
          type: 'fail_sometimes',
          counters: { completed: 3, failed: 1, dead: 1 },
        },
        {
          bucket: '2026-11-01T10:00:00.000Z',
          queue: 'default',
          type: 'fail_sometimes',
          counters: { completed: 7, failed: 0, dead: 0 },
        },
      ],
    );
    // 10 completed in the window, 2 read: each stands for 5; 1 dead, 1 read.
    expect(samples.map((s) => [s.succeeded, s.weight, s.recentFailureRate, s.runMs])).toEqual([
      [true, 5, 0.25, 2000],
      [true, 5, 0.25, undefined],
      [false, 1, 0.25, undefined],
    ]);
  });

  it('retrains from its ports and saves the model, or saves nothing when the week is too thin', async () => {
    const saved: FailureModel[] = [];
    const ports = (count: number) => ({
      queues: ['default'],
      newestFinished: async (_q: string, status: 'COMPLETED' | 'DEAD') =>
        Array.from({ length: count }, (_, i) =>
          job(i, { status, payload: { probability: status === 'DEAD' ? 1 : 0 } }),
        ),
      hourBuckets: async () => [],
      save: async (model: FailureModel) => {
        saved.push(model);
      },
    });
    const now = new Date('2026-11-02T00:00:00Z');
    expect(await retrainFailureModel(ports(5), now)).toEqual({ trained: false, samples: 10 });
    expect(saved).toHaveLength(0);
    const outcome = await retrainFailureModel(ports(20), now);
    expect(outcome.trained).toBe(true);
    expect(saved[0]?.samples).toBe(40);
    expect(saved[0]?.window).toEqual({ from: '2026-10-26T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' });
  });
});
