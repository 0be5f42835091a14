/**
 * The admin analytics over HTTP (docs/intelligence.md): SLAs, retries, cost, forecast, error
 * patterns and utilisation, each answered from the metric buckets the analytics recorder fills
 * off the jobs table's stream; and the anomaly watch, which opens alerts without a rule. Queues
 * are shared with the other files: figures are asserted as at least this file's own jobs.
 * History the suite cannot wait for (past days, past hours) is written into the metric buckets
 * as the recorder writes them.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  awsClients,
  bearer,
  eventsListed,
  invokeFunction,
  runTag,
  tableNamed,
  waitForJob,
} from '../helpers/factory-client.ts';

const finished = (job: { status: string }) => ['COMPLETED', 'DEAD', 'CANCELLED'].includes(job.status);
const started = new Date(Date.now() - 60_000).toISOString();
/** An error no other file's jobs raise: one error class of its own. */
const refusal = 'Partner vault refuses the analytics probe';
const tag = runTag('admin');

/** Ten jobs that complete at once after 200 ms of work, and four that fail twice and die. */
let jobs: { jobId: string; status: string; attempts: number }[] = [];

beforeAll(async () => {
  const submitted = await api('POST', '/jobs/bulk', {
    jobs: [
      ...Array.from({ length: 10 }, () => ({
        queue: 'default',
        type: 'fail_sometimes',
        payload: { probability: 0, workMs: 200 },
      })),
      ...Array.from({ length: 4 }, () => ({
        queue: 'default',
        type: 'fail_sometimes',
        payload: { probability: 1, workMs: 50, message: refusal },
        maxAttempts: 2,
        backoff: { type: 'fixed', delayMs: 100 },
      })),
    ],
  });
  expect(submitted.status).toBe(202);
  jobs = await Promise.all(
    submitted.body.jobs.map((j: { jobId: string }) => waitForJob(j.jobId, finished, 60_000)),
  );
});

afterAll(async () => {
  await api('DELETE', '/queues/default/sla');
  await api('DELETE', '/queues/media/sla');
});

/** Polls a GET until `check` holds of its body (the recorder runs off the job path). */
const settled = (path: string, check: (body: any) => void) =>
  vi.waitFor(
    async () => {
      const { status, body } = await api('GET', path, undefined, bearer('viewer'));
      expect(status, JSON.stringify(body)).toBe(200);
      check(body);
      return body;
    },
    { timeout: 30_000, interval: 500 },
  );

const expectError = (answer: { status: number; body: any }, status: number, code?: string) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.error).toMatchObject({ code: code ?? expect.any(String), message: expect.any(String) });
  expect(answer.body.error).toHaveProperty('details');
};

describe('the jobs this file measures', () => {
  it('finished as planned', () => {
    expect(jobs.map((j) => [j.status, j.attempts]).sort()).toEqual(
      [...Array(10).fill(['COMPLETED', 1]), ...Array(4).fill(['DEAD', 2])].sort(),
    );
  });
});

describe('SLAs', () => {
  it('are set by an admin, shown with the queue, and measured against the wait histograms', async () => {
    const set = await api('PUT', '/queues/default/sla', { withinMs: 1, percent: 99.9 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      queue: 'default',
      withinMs: 1,
      percent: 99.9,
      meaning: '99.9% of jobs start within 1 ms of their due time',
      updatedBy: expect.stringMatching(/^local admin/),
    });
    const queues = await api('GET', '/queues', undefined, bearer('viewer'));
    expect(queues.body.find((q: { name: string }) => q.name === 'default').sla).toMatchObject({
      withinMs: 1,
    });

    // Nobody starts within a millisecond of being due: the SLA is missed, bucket by bucket.
    const report = await settled(`/analytics/sla?queue=default&from=${started}`, (body) =>
      expect(body.queues[0]?.compliance.jobs).toBeGreaterThanOrEqual(10),
    );
    const [queue] = report.queues;
    expect(report.granularity).toBe('minute');
    expect(queue).toMatchObject({ queue: 'default', sla: { withinMs: 1, percent: 99.9 } });
    expect(queue.compliance.met).toBe(false);
    expect(queue.compliance.percentWithin).toBeLessThan(99.9);
    expect(queue.compliance.waitP95Ms).toBeGreaterThan(1);
    expect(queue.violationCount).toBeGreaterThanOrEqual(1);
    expect(queue.violations[0]).toMatchObject({ bucket: expect.any(String), jobs: expect.any(Number) });
    expect(['improving', 'worsening', 'steady', 'unknown']).toContain(queue.trend.direction);

    // The p95 form, generous: met.
    await api('PUT', '/queues/default/sla', { waitP95Ms: 600_000 });
    const generous = await api('GET', `/analytics/sla?queue=default&from=${started}`);
    expect(generous.body.queues[0]).toMatchObject({
      sla: { waitP95Ms: 600_000 },
      compliance: { met: true, percentWithin: 100 },
      violationCount: 0,
    });
  });

  it('refuse bad input with a 4xx JSON error, and a developer', async () => {
    expectError(await api('PUT', '/queues/default/sla', { withinMs: 1000 }), 400, 'VALIDATION_FAILED');
    expectError(await api('PUT', '/queues/default/sla', { waitP95Ms: -5 }), 400, 'VALIDATION_FAILED');
    expectError(await api('PUT', '/queues/default/sla', '{"waitP95Ms":'), 400, 'INVALID_JSON');
    expectError(await api('PUT', '/queues/warp/sla', { waitP95Ms: 1000 }), 404, 'QUEUE_NOT_FOUND');
    expectError(
      await api('PUT', '/queues/default/sla', { waitP95Ms: 1000 }, bearer('developer')),
      403,
      'FORBIDDEN',
    );
    expect(
      (await api('DELETE', '/queues/default/sla', undefined, bearer('developer'))).body.error.details,
    ).toMatchObject({
      required: 'admin',
    });
    expectError(await api('GET', '/analytics/sla?queue=warp'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/analytics/sla?queue=calibration'), 404, 'NO_SLA');
    expectError(
      await api('GET', '/analytics/sla?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z'),
      400,
      'INVALID_RANGE',
    );
  });
});

describe('GET /analytics/retries', () => {
  it('rates attempts by number and counts the retries, their time and their cost', async () => {
    const report = await settled(
      `/analytics/retries?queue=default&type=fail_sometimes&from=${started}`,
      (body) => {
        // The recorder follows the stream in its order: the last first attempts may land after
        // the retries' failures (a worker takes its wake-ups one at a time).
        const first = body.attempts.find((a: { attempt: string }) => a.attempt === '1');
        const second = body.attempts.find((a: { attempt: string }) => a.attempt === '2');
        expect(first?.completed).toBeGreaterThanOrEqual(10);
        expect(second?.failed).toBeGreaterThanOrEqual(4);
      },
    );
    const first = report.attempts.find((a: { attempt: string }) => a.attempt === '1');
    expect(first.completed).toBeGreaterThanOrEqual(10);
    expect(first.failed).toBeGreaterThanOrEqual(4);
    expect(first.successRate).toBeGreaterThan(0);
    expect(first.successRate).toBeLessThan(1);
    expect(report.retries.count).toBeGreaterThanOrEqual(4);
    expect(report.retries.wasted).toBeGreaterThanOrEqual(4);
    // Each retry ran 50 ms, and was due its 100 ms backoff after the failure (the worker
    // computes the due time a moment before it stamps the failure: a few ms less).
    expect(report.retries.runSeconds).toBeGreaterThanOrEqual(0.2);
    expect(report.retries.backoffSeconds).toBeGreaterThanOrEqual(0.35);
    expect(report.retries.costUsd).toBeGreaterThan(0);
    expect(report.types[0]).toMatchObject({ queue: 'default', type: 'fail_sometimes' });
  });
});

describe('GET /analytics/cost', () => {
  it('prices the jobs per job, queue and type, and projects the month', async () => {
    const report = await settled(`/analytics/cost?queue=default&from=${started}`, (body) =>
      expect(body.total.finished).toBeGreaterThanOrEqual(14),
    );
    expect(report.total.costUsd).toBeGreaterThan(0);
    expect(report.total.costPerJobUsd).toBeGreaterThan(0);
    expect(report.total.attempts).toBeGreaterThanOrEqual(18);
    expect(report.total.workerSeconds).toBeGreaterThanOrEqual(2);
    expect(report.total.breakdownUsd.lambdaCompute).toBeGreaterThan(0);
    expect(report.queues).toEqual([
      expect.objectContaining({ queue: 'default', kind: 'job', workerMemoryMb: 512 }),
    ]);
    expect(report.types.map((t: { type: string }) => t.type)).toContain('fail_sometimes');
    expect(report.monthlyProjection.costUsd).toBeGreaterThan(report.total.costUsd);
    expect(report.prices).toMatchObject({ region: 'us-east-1', currency: 'USD' });
    expectError(await api('GET', '/analytics/cost?queue=warp'), 400, 'VALIDATION_FAILED');
    expectError(
      await api('GET', `/analytics/cost?from=${new Date(Date.now() - 100 * 86_400_000).toISOString()}`),
      400,
      'RANGE_TOO_LARGE',
    );
  });
});

describe('GET /analytics/errors', () => {
  it('ranks this file’s error class among the failed attempts, over time', async () => {
    const report = await settled(
      `/analytics/errors?queue=default&type=fail_sometimes&from=${started}&top=50`,
      (body) => {
        const mine = body.classes.find((c: { errorClass: string }) => c.errorClass === refusal);
        expect(mine?.failures).toBeGreaterThanOrEqual(8);
      },
    );
    const mine = report.classes.find((c: { errorClass: string }) => c.errorClass === refusal);
    expect(mine).toMatchObject({
      classId: expect.stringMatching(/^[0-9a-f]{8}$/),
      queues: ['default'],
      types: ['fail_sometimes'],
      series: expect.arrayContaining([expect.objectContaining({ failures: expect.any(Number) })]),
    });
    expect(mine.share).toBeGreaterThan(0);
    expect(report.step).toBe('hour');
    expect(report.failedAttempts).toBeGreaterThanOrEqual(8);
    expectError(await api('GET', '/analytics/errors?top=0'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/analytics/errors?step=fortnight'), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /analytics/utilisation', () => {
  it('sets the run time against the worker time the queue had', async () => {
    const report = await settled(`/analytics/utilisation?queue=default&from=${started}`, (body) =>
      // Ten runs of 200 ms and eight failed attempts of 50 ms.
      expect(body.queues[0].busySeconds).toBeGreaterThanOrEqual(2.4),
    );
    const [queue] = report.queues;
    expect(queue.queue).toBe('default');
    expect(queue.availableWorkerSeconds).toBeGreaterThan(queue.busySeconds);
    expect(queue.utilisation).toBeGreaterThan(0);
    expect(queue.utilisation).toBeLessThan(1);
    expect(queue.workers.atEnd).toBeGreaterThanOrEqual(6);
    expect(queue.series.length).toBeGreaterThanOrEqual(1);
    // Every queue without a filter.
    const all = await api('GET', '/analytics/utilisation', undefined, bearer('viewer'));
    expect(all.body.queues.map((q: { queue: string }) => q.queue)).toEqual(
      expect.arrayContaining(['default', 'media', 'assembly']),
    );
    expectError(
      await api('GET', '/analytics/utilisation?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z'),
      400,
      'INVALID_RANGE',
    );
    expectError(await api('GET', '/analytics/utilisation?from=yesterday'), 400, 'VALIDATION_FAILED');
  });
});

/** Writes counters into a metric bucket item, as the analytics recorder would have. */
async function seedBucket(
  granularity: 'minute' | 'hour',
  queue: string,
  at: Date,
  type: string,
  counters: Record<string, number>,
) {
  const { dynamo } = awsClients();
  try {
    const table = await tableNamed(dynamo, (t) => t.includes('Metrics'));
    await dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: { S: `${granularity}#${queue}` },
          sk: { S: `${at.toISOString()}#${type}#0` },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
          ...Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, { N: String(v) }])),
        },
      }),
    );
  } finally {
    dynamo.destroy();
  }
}

describe('GET /analytics/forecast', () => {
  it('forecasts the hours ahead from the hour buckets, and the workers each needs for the SLA', async () => {
    // The last three 09:00 UTC hours before this one: 30 jobs each on media (2 s each), nothing
    // at other hours.
    const thisHour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const today9 = Date.parse(`${new Date(thisHour).toISOString().slice(0, 10)}T09:00:00.000Z`);
    const lastNine = today9 < thisHour ? today9 : today9 - 86_400_000;
    for (const day of [0, 1, 2])
      await seedBucket('hour', 'media', new Date(lastNine - day * 86_400_000), `forecast_${tag}`, {
        submitted: 30,
        r44: 30,
        runMsSum: 60_000,
      });
    const withoutSla = await api(
      'GET',
      '/analytics/forecast?queue=media&historyDays=5',
      undefined,
      bearer('viewer'),
    );
    expect(withoutSla.status).toBe(200);
    expect(withoutSla.body.workersNote).toContain('PUT /queues/media/sla');
    expect((await api('PUT', '/queues/media/sla', { withinMs: 60_000, percent: 90 })).status).toBe(200);

    const { status, body } = await api('GET', '/analytics/forecast?queue=media&historyDays=5');
    expect(status).toBe(200);
    expect(body.hours).toHaveLength(168);
    expect(body.model).toMatchObject({ kind: 'seasonal means with a linear trend', season: 'hour-of-day' });
    expect(body.model.history.jobs).toBeGreaterThanOrEqual(90);
    expect(body.meanRunMs).toBeGreaterThanOrEqual(1000);
    const nines = body.hours.filter((h: { hour: string }) => h.hour.endsWith('T09:00:00.000Z'));
    expect(nines.length).toBeGreaterThanOrEqual(6);
    for (const nine of nines) {
      expect(nine.jobs).toBeGreaterThan(25);
      expect(nine.jobs).toBeLessThan(35);
      // 30 jobs an hour of 2 s: one worker starts nine in ten within a minute.
      expect(nine.workers).toBe(1);
    }
    expect(body.peak.hour.endsWith('T09:00:00.000Z')).toBe(true);
    expect(body.sla).toEqual({ withinMs: 60_000, percent: 90 });

    expectError(await api('GET', '/analytics/forecast'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/analytics/forecast?queue=media&hours=500'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/analytics/forecast?queue=media&bogus=1'), 400, 'VALIDATION_FAILED');
  });
});

describe('the anomaly watch', () => {
  it('opens an alert without a rule when a type fails against its own history, and publishes alert.fired', async () => {
    // An hour and a half of 10 completions a minute, then a minute-by-minute failure spike
    // around now (a few minutes ahead too, should the clock turn during the test).
    const type = `anomaly_${tag}`;
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    for (let m = 95; m >= -3; m--) {
      const spike = m <= 4;
      await seedBucket('minute', 'media', new Date(now - m * 60_000), type, {
        completed: spike ? 1 : 10,
        failed: spike ? 9 : 0,
        r31: spike ? 1 : 10,
      });
    }
    const ruleId = `anomaly:media/${type}`;
    const alert = await vi.waitFor(
      async () => {
        await invokeFunction('AlertEvaluator');
        const { body } = await api('GET', '/alerts?source=anomaly-detector', undefined, bearer('viewer'));
        const mine = body.alerts.find((a: { ruleId: string }) => a.ruleId === ruleId);
        expect(mine).toBeDefined();
        return mine;
      },
      { timeout: 60_000, interval: 1000 },
    );
    expect(alert).toMatchObject({
      source: 'anomaly-detector',
      status: 'firing',
      name: `Anomaly on ${type} in media`,
      condition: { metric: 'anomaly', queue: 'media', type, op: '>', threshold: 4, forMinutes: 2 },
      expected: { low: expect.any(Number), high: expect.any(Number) },
    });
    expect(alert.value).toBeGreaterThan(4);
    expect(alert.detail).toMatch(/failureRate|throughput/);
    // The rules' alerts are apart.
    const rules = await api('GET', '/alerts?source=rule');
    expect(rules.body.alerts.some((a: { ruleId: string }) => a.ruleId === ruleId)).toBe(false);
    expectError(await api('GET', '/alerts?source=oracle'), 400, 'VALIDATION_FAILED');
    // Published like a rule's alert.
    await vi.waitFor(
      async () => {
        const events = await eventsListed<{ type: string; queue?: string; data: Record<string, unknown> }>(
          'type=alert.fired&queue=media&limit=500',
          (seen) => seen.some((e) => e.data.ruleId === ruleId),
        );
        expect(events.find((e) => e.data.ruleId === ruleId)).toMatchObject({
          queue: 'media',
          data: { source: 'anomaly-detector', metric: 'anomaly', type },
        });
      },
      { timeout: 30_000, interval: 500 },
    );
  });
});
