/**
 * The answers' schemas (functions/domain/api-responses.ts) against what the domain views the
 * handlers answer with really write. Nothing checks answers at run time, so a view that gains,
 * loses or changes a field must fail here (or in the contract integration test), not in a
 * client. Each value goes through JSON first, as it does on the wire; a closed schema strips
 * fields it does not name, so `parse(answer)` equal to `answer` means every field is declared.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as z from 'zod';
import { noModelYet } from '../../functions/adapters/model-store.ts';
import { type ApiKeyRecord, issueApiKey, publicKeyView } from '../../functions/domain/access.ts';
import {
  costReportSchema,
  errorPatternsSchema,
  failureModelsSchema,
  jobDurationHistogramSchema,
  retryReportSchema,
  scalingAdviceSchema,
  slaReportSchema,
  slowJobsReportSchema,
  throughputReportSchema,
  utilisationReportSchema,
  volumeForecastSchema,
} from '../../functions/domain/analytics-responses.ts';
import {
  apiKeyViewSchema,
  cancelledOrderSchema,
  deadLetterCausesSchema,
  issuedApiKeySchema,
  jobGraphSchema,
  jobStatsSchema,
  jobViewSchema,
  orderStatusViewSchema,
  pauseOutcomeSchema,
  queueInfoSchema,
  queueOverviewSchema,
  scalingModeSchema,
  submittedJobSchema,
} from '../../functions/domain/api-responses.ts';
import { costReport } from '../../functions/domain/cost-model.ts';
import { dependencyGraph } from '../../functions/domain/dependency-graph.ts';
import { deadLetterCauses } from '../../functions/domain/error-classes.ts';
import { errorPatterns } from '../../functions/domain/error-patterns.ts';
import {
  type FailureModel,
  modelSummary,
  trainFailureModel,
} from '../../functions/domain/failure-prediction.ts';
import { bandCountsOf, emptyStats, statsOf } from '../../functions/domain/job-counts.ts';
import type { Accepted } from '../../functions/domain/job-intake.ts';
import { describeQueues } from '../../functions/domain/job-queues.ts';
import { type JobRecord, publicJobView } from '../../functions/domain/jobs.ts';
import {
  acceptOrder,
  type OrderRecord,
  orderRequestSchema,
  orderStatusView,
  unstartedStepJob,
} from '../../functions/domain/orders.ts';
import { type PausePorts, pauseQueues, resumeQueues } from '../../functions/domain/queue-pause.ts';
import { retryReport } from '../../functions/domain/retry-analysis.ts';
import { scalingAdvice } from '../../functions/domain/scaling-advice.ts';
import { slaOf, slaReport, slaView } from '../../functions/domain/sla.ts';
import { slowJobsReport } from '../../functions/domain/slow-jobs.ts';
import {
  durationHistogram,
  ordersReport,
  type StoredBucket,
  throughputReport,
} from '../../functions/domain/throughput.ts';
import { concurrencyTimeline, utilisationReport } from '../../functions/domain/utilisation.ts';
import { volumeForecast } from '../../functions/domain/volume-forecast.ts';
import { describeMode } from '../../functions/domain/worker-scaling.ts';

const now = new Date('2026-11-22T10:00:00Z');
const wire = <T>(value: T): unknown => JSON.parse(JSON.stringify(value));

/** The answer as a client reads it fits the schema, and names no field the schema does not. */
function expectDeclared(schema: z.ZodType, answer: unknown) {
  const sent = wire(answer);
  const result = schema.safeParse(sent);
  expect(result.error?.issues ?? []).toEqual([]);
  expect(result.data).toEqual(sent);
}

const standaloneJob: JobRecord = {
  jobId: 'job_1',
  kind: 'job',
  queue: 'default',
  type: 'webhook_call',
  status: 'RETRYING',
  attempts: 2,
  maxAttempts: 5,
  priority: 3,
  createdAt: '2026-11-22T09:00:00.000Z',
  updatedAt: '2026-11-22T09:05:00.000Z',
  startedAt: '2026-11-22T09:04:00.000Z',
  runAt: '2026-11-22T09:06:00.000Z',
  workerId: 'w-1',
  attemptToken: 'hash',
  leaseExpiresAt: 1_800_000_000,
  dispatchAt: '2026-11-22T09:00:01.000Z',
  lastError: 'HTTP 503 from https://example.com/hook',
  failures: [{ errorClass: 'http-5xx', at: '2026-11-22T09:05:00.000Z' }] as unknown as JobRecord['failures'],
  payload: { url: 'https://example.com/hook', apiKey: 'secret' },
  backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 60_000, jitter: true },
  timeoutMs: 15_000,
  dependsOn: ['job_0'],
  waitingOn: new Set(['job_0']),
  dependents: new Set(['job_3']),
  lateDependents: new Set(['job_2']),
  batchId: 'batch_1',
  idempotencyKey: 'welcome-ada',
  manualRetries: 1,
  progress: { percent: 40, message: 'calling', at: '2026-11-22T09:04:30.000Z' },
  expiresAt: 1_800_000_000,
};

describe('jobs', () => {
  it('a standalone job as publicJobView shows it (sets as arrays, internals left out)', () => {
    const view = publicJobView(standaloneJob, ['apiKey']);
    expectDeclared(jobViewSchema, view);
    expect(wire(view)).toMatchObject({ waitingOn: ['job_0'], dependents: ['job_2', 'job_3'] });
  });

  it('a dead job and a robot step not yet dispatched', () => {
    const dead: JobRecord = {
      ...standaloneJob,
      status: 'DEAD',
      deadAt: '2026-11-22T09:10:00.000Z',
      discardedAt: '2026-11-22T09:11:00.000Z',
      result: { status: 503 },
      waitingOn: undefined,
    };
    expectDeclared(jobViewSchema, publicJobView(dead));
    const order = acceptOrder(
      orderRequestSchema.parse({
        customerId: 'c1',
        robotType: 'courier',
        specifications: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
      }),
      { simulationEnabled: false, now },
    );
    const step = unstartedStepJob(order, orderStatusView(order, []).steps[0]?.name ?? '');
    expect(step).toBeDefined();
    expectDeclared(jobViewSchema, publicJobView(step as JobRecord));
  });

  it('an accepted submission', () => {
    const accepted: Accepted = { jobId: 'job_1', status: 'QUEUED', duplicate: false };
    expectDeclared(submittedJobSchema, accepted);
  });

  it('the live counts by state and by band', () => {
    const tally = new Map([
      ['default|normal|QUEUED', { total: 5, blocked: 1, delayed: 2 }],
      ['default|urgent|RUNNING', { total: 2, blocked: 0, delayed: 0 }],
      ['default|low|DEAD', { total: 1, blocked: 0, delayed: 0 }],
    ]);
    const counts = statsOf(tally, 'default');
    expectDeclared(jobStatsSchema, {
      at: now.toISOString(),
      ...emptyStats(),
      queues: [{ queue: 'default', ...counts }],
    });
    const bands = bandCountsOf(tally, 'default');
    expectDeclared(queueOverviewSchema, {
      at: now.toISOString(),
      queues: [
        {
          queue: 'default',
          kind: 'job-queue',
          paused: false,
          ...bands.normal,
          bands,
        },
      ],
    });
  });

  it('a dependency graph and the dead-letter causes', () => {
    const jobs = [
      { ...standaloneJob, jobId: 'a', dependsOn: [], status: 'COMPLETED' as const },
      { ...standaloneJob, jobId: 'b', dependsOn: ['a'] },
    ];
    expectDeclared(jobGraphSchema, { jobId: 'b', ...dependencyGraph(jobs, now, false) });
    expectDeclared(deadLetterCausesSchema, {
      at: now.toISOString(),
      jobs: 2,
      truncated: false,
      causes: deadLetterCauses([
        {
          jobId: 'a',
          type: 'webhook_call',
          queue: 'default',
          error: 'HTTP 503 from https://x',
          deadAt: now.toISOString(),
        },
        { jobId: 'b', type: 'send_email', queue: 'notifications', error: 'timeout after 15000 ms' },
      ]),
    });
  });
});

describe('orders', () => {
  const order: OrderRecord = {
    ...acceptOrder(
      orderRequestSchema.parse({
        customerId: 'c1',
        robotType: 'companion',
        specifications: { heightCm: 60, personality: 'calm', language: 'en' },
      }),
      { simulationEnabled: false, now },
    ),
    status: 'FAILED',
    startedAt: '2026-11-22T10:00:01.000Z',
    failedAt: '2026-11-22T10:01:00.000Z',
    resumes: 1,
    resumedAt: '2026-11-22T10:00:30.000Z',
  };
  const steps = orderStatusView(order, []).steps;
  const stepJob = (name: string, status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
    jobId: `${order.orderId}.${name}`,
    kind: 'step',
    queue: 'assembly',
    type: name,
    status,
    attempts: 1,
    maxAttempts: 3,
    priority: 5,
    stepName: name,
    createdAt: now.toISOString(),
    startedAt: now.toISOString(),
    ...extra,
  });

  it('the status view of a failed, resumed order', () => {
    const failedStep = steps[1]?.name ?? 'x';
    const view = orderStatusView({ ...order, error: `Step ${failedStep} failed` }, [
      stepJob(steps[0]?.name ?? 'x', 'COMPLETED', { completedAt: now.toISOString() }),
      stepJob(failedStep, 'DEAD', { lastError: 'torque out of range' }),
    ]);
    expectDeclared(orderStatusViewSchema, view);
    expect(view.error).toBe(`Step ${failedStep} failed: torque out of range`);
  });

  it('a cancelled order with its steps', () => {
    const cancelled: OrderRecord = {
      ...order,
      status: 'CANCELLED',
      cancelledAt: now.toISOString(),
      cancelledBy: 'ops (key k0123456789ab)',
      cancelReason: 'customer changed their mind',
    };
    expectDeclared(cancelledOrderSchema, {
      ...orderStatusView(cancelled, []),
      cancelledSteps: { cancelled: [steps[0]?.name ?? 'x'], 'stop-requested': [], finished: [] },
    });
  });

  it('the schema says what orderStatusView returns (compile time)', () => {
    expectTypeOf<ReturnType<typeof orderStatusView>>().toExtend<z.input<typeof orderStatusViewSchema>>();
    expectTypeOf<ReturnType<typeof publicKeyView>>().toExtend<z.input<typeof apiKeyViewSchema>>();
  });
});

describe('queues and workers', () => {
  it('every queue and line as GET /queues lists them', () => {
    const sla = slaOf('default', { waitP95Ms: 2000 }, 'ops', now);
    for (const queue of describeQueues())
      expectDeclared(queueInfoSchema, {
        ...queue,
        rateLimit: queue.kind === 'job-queue' ? { limit: 10, windowMs: 1000 } : null,
        sla: slaView(sla),
        paused: true,
        pausedAt: now.toISOString(),
        pausedBy: 'ops',
        pauseReason: null,
      });
  });

  it('pausing and resuming', async () => {
    const pauses = new Map();
    const ports: PausePorts = {
      pauses: {
        pauses: async () => pauses,
        pause: async (pause) => !pauses.has(pause.queue) && Boolean(pauses.set(pause.queue, pause)),
        resume: async (queue) => pauses.delete(queue),
      },
      windows: { windows: async () => [] },
      queues: { setEnabled: async () => undefined },
      clock: { now: () => now },
    };
    for (const outcome of [
      ...(await pauseQueues(['default'], 'ops', 'deploy', ports)),
      ...(await pauseQueues(['default'], 'ops', undefined, ports)),
      ...(await resumeQueues(['default'], ports)),
    ])
      expectDeclared(pauseOutcomeSchema, outcome);
  });

  it('who decides the concurrency: pinned, the autoscaler by default, predictive', () => {
    const at = now.toISOString();
    expectDeclared(scalingModeSchema, describeMode('default', undefined));
    expectDeclared(
      scalingModeSchema,
      describeMode('default', {
        queue: 'default',
        mode: 'manual',
        concurrency: 9,
        by: 'ops',
        at,
        reason: 'x',
      }),
    );
    expectDeclared(
      scalingModeSchema,
      describeMode('default', {
        queue: 'default',
        mode: 'auto',
        min: 3,
        max: 30,
        policy: 'predictive',
        by: 'ops',
        at,
        reason: 'released',
      }),
    );
  });
});

describe('keys', () => {
  it('an issued key and a listed, revoked one', async () => {
    const records: ApiKeyRecord[] = [];
    const issued = await issueApiKey({ name: 'ci', role: 'developer' }, 'admin (key k1)', {
      create: async (record) => Boolean(records.push(record)),
      now: () => now,
    });
    expectDeclared(issuedApiKeySchema, { ...issued, note: 'Store the key now: it is not shown again.' });
    const [record] = records as [ApiKeyRecord];
    expectDeclared(
      apiKeyViewSchema,
      publicKeyView({ ...record, revokedAt: now.toISOString(), revokedBy: 'x' }),
    );
  });
});

describe('analytics and metrics reports', () => {
  const from = new Date('2026-11-21T10:00:00Z');
  const to = now;
  /** Two hours of two types: runs, waits, retries, payload sums and an error class. */
  const buckets: StoredBucket[] = [0, 12].flatMap((h) =>
    ['webhook_call', 'send_email'].map((type, i) => ({
      bucket: new Date(from.getTime() + h * 3_600_000).toISOString(),
      queue: i === 0 ? 'default' : 'notifications',
      type,
      counters: {
        submitted: 30,
        completed: 20 + h,
        failed: 6,
        dead: 1,
        r40: 10 + h,
        r44: 10,
        w20: 15,
        w36: 5 + h,
        runMsSum: 25_000,
        runMsSqSum: 40_000_000,
        waitMsSum: 3_000,
        payloadBytesSum: 20_000 + h,
        payloadBytesSqSum: 30_000_000,
        payloadRunSum: 30_000_000,
        ac1: 15,
        af1: 6,
        ac2: 5 + h,
        retryRunMsSum: 4_000,
        failedRunMsSum: 2_000,
        retryDelayMsSum: 9_000,
        x_timeout: 4,
        x_other: 2,
      },
      errorClasses: { timeout: 'Timed out after <n> ms' },
    })),
  );
  const sla = slaOf('default', { withinMs: 100, percent: 90 }, 'admin (key k1)', now);

  it('throughput, the duration histogram and the scaling advice', () => {
    expectDeclared(throughputReportSchema, {
      ...throughputReport(buckets, from, to, 'hour'),
      orders: ordersReport([
        { bucket: from.toISOString(), robotType: 'butler', completed: 3, assemblyMsSum: 9_000 },
        { bucket: from.toISOString(), robotType: 'drone', completed: 0, assemblyMsSum: 0 },
      ]),
    });
    const runTimeMs = durationHistogram(buckets);
    expectDeclared(jobDurationHistogramSchema, {
      from: from.toISOString(),
      to: to.toISOString(),
      queue: null,
      runTimeMs,
    });
    expect(runTimeMs.buckets.length).toBeGreaterThan(0);
    const advice = (minuteBuckets: StoredBucket[]) =>
      scalingAdvice({
        queue: 'default',
        buckets: minuteBuckets,
        windowMs: 3_600_000,
        targetWaitMs: 1000,
        currentConcurrency: 2,
        maxWorkers: 20,
      });
    expectDeclared(scalingAdviceSchema, advice(buckets));
    expectDeclared(scalingAdviceSchema, advice([]));
  });

  it('slow jobs, retries, cost and errors', () => {
    const slow = slowJobsReport(buckets, {
      from,
      to,
      timeoutOf: (type) => (type === 'webhook_call' ? 1_000 : undefined),
      rateLimited: new Set(['default']),
    });
    expect(slow.types.some((t) => t.payload !== null && t.suggestions.length > 0)).toBe(true);
    expectDeclared(slowJobsReportSchema, slow);
    expectDeclared(retryReportSchema, retryReport(buckets, { from, to }));
    expectDeclared(costReportSchema, costReport(buckets, { from, to }));
    const errors = errorPatterns(buckets, { from, to, step: 'hour', top: 10 });
    expect(errors.classes.length).toBe(1);
    expectDeclared(errorPatternsSchema, errors);
    expectDeclared(retryReportSchema, retryReport([], { from, to }));
    expectDeclared(costReportSchema, costReport([], { from, to }));
    expectDeclared(errorPatternsSchema, errorPatterns([], { from, to, step: 'day', top: 5 }));
    expectDeclared(
      slowJobsReportSchema,
      slowJobsReport([], { from, to, timeoutOf: () => undefined, rateLimited: new Set() }),
    );
  });

  it('SLA compliance and utilisation', () => {
    expectDeclared(slaReportSchema, {
      from: from.toISOString(),
      to: to.toISOString(),
      granularity: 'hour',
      queues: [
        slaReport(sla, buckets, { from, to }),
        slaReport(slaOf('notifications', { waitP95Ms: 500 }, 'x', now), [], { from, to }),
      ],
    });
    const segments = concurrencyTimeline(
      [{ at: new Date(from.getTime() + 3_600_000).toISOString(), from: 2, to: 4 }],
      2,
      from.getTime(),
      to.getTime(),
    );
    expectDeclared(utilisationReportSchema, {
      from: from.toISOString(),
      to: to.toISOString(),
      granularity: 'hour',
      queues: [
        utilisationReport('default', buckets, segments, { from, to, stepMs: 3_600_000 }),
        utilisationReport('default', [], [], { from, to, stepMs: 3_600_000 }),
      ],
    });
  });

  it('the volume forecast, with and without an SLA and history', () => {
    const counts = Array.from({ length: 24 * 15 }, (_, i) => 10 + (i % 24));
    const input = {
      queue: 'default',
      counts,
      historyStart: Date.parse('2026-11-07T10:00:00Z'),
      from: now.getTime(),
      hours: 24,
      meanRunMs: 250,
      maxWorkers: 20,
    };
    const withSla = volumeForecast({ ...input, sla: { withinMs: 100, percent: 90 } });
    expect(withSla.hours[0]).toHaveProperty('workers');
    expectDeclared(volumeForecastSchema, withSla);
    expectDeclared(volumeForecastSchema, volumeForecast({ ...input, counts: [], meanRunMs: null }));
  });

  it('the failure model, and none yet', () => {
    const window = { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T00:00:00.000Z' };
    const samples = Array.from({ length: 60 }, (_, i) => ({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: i % 2 },
      at: new Date(Date.parse(window.from) + i * 60_000).toISOString(),
      succeeded: i % 2 === 0,
      runMs: 100,
    }));
    const model = trainFailureModel(samples, window, new Date(window.to)) as FailureModel;
    // Stored as JSON, read back as JSON (adapters/model-store.ts).
    expectDeclared(failureModelsSchema, { models: [modelSummary(wire(model) as FailureModel)] });
    expectDeclared(failureModelsSchema, { models: [], note: noModelYet });
  });

  it('the schemas say what the reports return (compile time)', () => {
    // The reports' interfaces are readonly; what a client reads of them is not.
    type Wire<T> = T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { -readonly [K in keyof T]: Wire<T[K]> }
        : T;
    expectTypeOf<Wire<ReturnType<typeof scalingAdvice>>>().toExtend<z.input<typeof scalingAdviceSchema>>();
    expectTypeOf<Wire<ReturnType<typeof slowJobsReport>>>().toExtend<z.input<typeof slowJobsReportSchema>>();
    expectTypeOf<Wire<ReturnType<typeof retryReport>>>().toExtend<z.input<typeof retryReportSchema>>();
    expectTypeOf<Wire<ReturnType<typeof errorPatterns>>>().toExtend<z.input<typeof errorPatternsSchema>>();
    expectTypeOf<Wire<ReturnType<typeof volumeForecast>>>().toExtend<z.input<typeof volumeForecastSchema>>();
    expectTypeOf<Wire<ReturnType<typeof slaReport>>>().toExtend<
      z.input<typeof slaReportSchema>['queues'][number]
    >();
    expectTypeOf<Wire<ReturnType<typeof utilisationReport>>>().toExtend<
      z.input<typeof utilisationReportSchema>['queues'][number]
    >();
    expectTypeOf<Wire<ReturnType<typeof modelSummary>>>().toExtend<
      z.input<typeof failureModelsSchema>['models'][number]
    >();
  });
});
