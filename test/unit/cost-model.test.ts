/** The cost model: the usage the bench measured, priced, from the buckets' counts and run times. */
import { describe, expect, it } from 'vitest';
import {
  attemptsOf,
  costReport,
  retryAttemptCost,
  usageCost,
  usageOf,
  workerMemoryMb,
} from '../../functions/domain/cost-model.ts';
import type { StoredBucket } from '../../functions/domain/throughput.ts';

const from = new Date('2026-12-01T00:00:00.000Z');
const to = new Date('2026-12-02T00:00:00.000Z');
const sum = (c: object) => (Object.values(c) as number[]).reduce((a, b) => a + b, 0);

/** Ten e-mails: eight done at once, one on its second attempt, one dead after two. */
const emails: StoredBucket = {
  bucket: '2026-12-01T10:00:00.000Z',
  queue: 'default',
  type: 'send_email',
  counters: {
    submitted: 10,
    completed: 9,
    failed: 3,
    dead: 1,
    ac1: 8,
    ac2: 1,
    af1: 2,
    af2: 1,
    runMsSum: 9000,
    failedRunMsSum: 3000,
  },
};

describe('the cost model', () => {
  it('prices a standalone job’s intake and attempt as docs/cost-model.md measures them', () => {
    // Intake: 1.13 WU, 0.1 SQS, one API request, job.submitted (EventBridge + archive + 0.06 WU).
    const intake = 1.13 * 0.625e-6 + 0.1 * 0.4e-6 + 1e-6 + (1e-6 + 0.05e-6) + 0.06 * 0.625e-6;
    expect(sum(usageCost(usageOf.job.perJob))).toBeCloseTo(intake, 15);
    // A short attempt: 5.35 WU, 0.08 RRU, a tenth of a delete, of a visibility change and of an
    // invocation (ten wake-ups an invocation), two events.
    const attempt =
      5.35 * 0.625e-6 + 0.08 * 0.125e-6 + 0.2 * 0.4e-6 + 0.1 * 0.2e-6 + 2 * (1.05e-6 + 0.06 * 0.625e-6);
    expect(sum(usageCost(usageOf.job.perAttempt))).toBeCloseTo(attempt, 15);
    // A retry is an attempt plus its message.
    expect(retryAttemptCost('default')).toBeCloseTo(attempt + 0.4e-6, 15);
    // Intake + one attempt ≈ $8.5 per million jobs before compute: the doc's ~$4.2 of writes and the rest.
    expect((intake + attempt) * 1e6).toBeCloseTo(8.4625, 3);
  });

  it('gives each queue’s workers the memory the stack gives them', () => {
    expect([workerMemoryMb('default'), workerMemoryMb('media'), workerMemoryMb('assembly')]).toEqual([
      512, 1024, 256,
    ]);
  });

  it('counts attempts by number where the buckets have them, else completions and failures', () => {
    expect(attemptsOf(emails.counters)).toEqual({ attempts: 12, retries: 2 });
    expect(attemptsOf({ completed: 5, failed: 2 })).toEqual({ attempts: 7, retries: 0 });
  });

  it('prices the range per job, per queue and per type, and projects the month at its rate', () => {
    const report = costReport([emails], { from, to });
    // 10 intakes, 12 attempts, 2 retries' messages, 12 s at 512 MB on arm64.
    const expected = 10 * 2.83375e-6 + 12 * 5.62875e-6 + 2 * 0.4e-6 + 12 * 0.5 * 0.0000133334;
    expect(report.total.costUsd).toBe(Number(expected.toPrecision(4)));
    expect(report.total).toMatchObject({
      submitted: 10,
      finished: 10,
      attempts: 12,
      retries: 2,
      workerSeconds: 12,
    });
    expect(report.total.costPerJobUsd).toBe(Number((expected / 10).toPrecision(4)));
    expect(report.total.breakdownUsd.lambdaCompute).toBe(Number((12 * 0.5 * 0.0000133334).toPrecision(4)));
    expect(report.monthlyProjection).toMatchObject({
      costUsd: Number(((expected * 730) / 24).toPrecision(4)),
      jobs: Math.round((10 * 730) / 24),
    });
    expect(report.queues).toEqual([
      expect.objectContaining({ queue: 'default', kind: 'job', workerMemoryMb: 512 }),
    ]);
    expect(report.types).toEqual([
      expect.objectContaining({ queue: 'default', type: 'send_email', finished: 10 }),
    ]);
  });

  it('prices a robot step with its state transitions and no API request', () => {
    const step: StoredBucket = {
      bucket: '2026-12-01T10:00:00.000Z',
      queue: 'assembly',
      type: 'assemble_module',
      counters: { submitted: 4, completed: 4, ac1: 4, runMsSum: 4000 },
    };
    const { queues } = costReport([step, emails], { from, to });
    const assembly = queues.find((q) => q.queue === 'assembly');
    // 4 × 1.25 transitions at $0.025 per 1,000.
    expect(assembly?.breakdownUsd.stepFunctions).toBe(Number((5 * 0.000025).toPrecision(4)));
    expect(assembly?.breakdownUsd.api).toBe(0);
    expect(assembly?.kind).toBe('step');
    // Sorted by cost, the dearest first (four robot steps, with their transitions, outweigh ten
    // e-mails now that a standalone job writes ~6.7 units).
    expect(queues.map((q) => q.queue)).toEqual(['assembly', 'default']);
    expect(queues[0]?.costUsd).toBeGreaterThan(queues[1]?.costUsd ?? Number.POSITIVE_INFINITY);
  });
});
