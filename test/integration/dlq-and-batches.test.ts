/** The dead-letter queue (list, filter, bulk retry, discard, CSV), batches, and resuming a robot order. */
import { describe, expect, inject, it } from 'vitest';
import {
  api,
  bearer,
  getJob,
  placeOrder,
  runTag,
  submitJob,
  waitForJob,
  waitForOrder,
} from '../helpers/factory-client.ts';

const finished = (job: { status: string }) => ['COMPLETED', 'DEAD', 'CANCELLED'].includes(job.status);

/** Jobs that die at once, with a recognisable error (the tag is in the payload, not the error). */
async function deadJobs(count: number) {
  const { body } = await api('POST', '/jobs/bulk', {
    jobs: Array.from({ length: count }, () => ({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 1 },
      maxAttempts: 1,
    })),
  });
  const ids: string[] = body.jobs.map((j: { jobId: string }) => j.jobId);
  for (const id of ids) expect((await waitForJob(id, finished)).status).toBe('DEAD');
  return ids;
}

describe('dead-letter queue', () => {
  it('lists dead jobs with filters and exports them as CSV', async () => {
    const [id] = await deadJobs(1);
    const listed = await api('GET', '/dlq?queue=default&type=fail_sometimes&errorContains=Unlucky&limit=200');
    expect(listed.status).toBe(200);
    expect(listed.body.jobs.map((j: { jobId: string }) => j.jobId)).toContain(id);
    for (const job of listed.body.jobs)
      expect(job).toMatchObject({ status: 'DEAD', queue: 'default', type: 'fail_sometimes' });
    const none = await api('GET', '/dlq?queue=default&errorContains=no-such-error-text');
    expect(none.body.jobs).toEqual([]);

    const response = await fetch(`${inject('apiUrl')}/dlq/export?queue=default&type=fail_sometimes`, {
      headers: bearer('viewer'),
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).trim().split('\r\n');
    expect(lines[0]).toBe(
      'jobId,kind,queue,type,priority,attempts,maxAttempts,createdAt,deadAt,orderId,error,payload',
    );
    const row = lines.find((l) => l.startsWith(`"${id}"`));
    expect(row).toContain('"fail_sometimes"');
    expect(row).toContain('""probability"":1');
  });

  it('groups the dead jobs by error class: GET /dlq/causes', async () => {
    const ids = await deadJobs(2);
    const { status, body } = await api('GET', '/dlq/causes?queue=default&type=fail_sometimes');
    expect(status).toBe(200);
    const unlucky = body.causes.find(
      (c: { errorClass: string }) => c.errorClass === 'Unlucky attempt <n>: rolled <n> < <n>',
    );
    // Different rolls, one class.
    expect(unlucky).toMatchObject({ types: ['fail_sometimes'], queues: ['default'], httpStatusClass: null });
    expect(unlucky.count).toBeGreaterThanOrEqual(2);
    expect(Date.parse(unlucky.lastSeen)).toBeGreaterThanOrEqual(Date.parse(unlucky.firstSeen));
    expect(unlucky.sample.error).toMatch(/^Unlucky attempt 1: rolled/);
    expect(body.jobs).toBeGreaterThanOrEqual(ids.length);
    expect((await api('GET', '/dlq/causes?queue=warp')).status).toBe(400);
  });

  it('retries dead jobs in bulk by id and reports how many', async () => {
    const ids = await deadJobs(3);
    const response = await api('POST', '/dlq/retry', { jobIds: [...ids, 'job_missing'] });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ retried: 3 });
    expect(response.body.skipped).toEqual([{ jobId: 'job_missing', reason: 'not found' }]);
    for (const id of ids) {
      // fail_sometimes(1) dies again, after a second run with a fresh attempt budget.
      const job = await waitForJob(id, (j) => j.manualRetries === 1 && finished(j), 30_000);
      expect(job).toMatchObject({ status: 'DEAD', attempts: 1, manualRetries: 1 });
    }
  });

  it('retries dead jobs in bulk by filter', async () => {
    const ids = await deadJobs(2);
    const response = await api('POST', '/dlq/retry', {
      queue: 'default',
      type: 'fail_sometimes',
      limit: 1000,
    });
    expect(response.status).toBe(202);
    expect(response.body.retried).toBeGreaterThanOrEqual(2);
    expect(response.body.jobIds).toEqual(expect.arrayContaining(ids));
  });

  it('discards a dead job from the DLQ; the job stays readable', async () => {
    const [id = ''] = await deadJobs(1);
    const response = await api('DELETE', `/dlq/${id}`);
    expect(response.status).toBe(200);
    expect(response.body.discardedAt).toBeDefined();
    const listed = await api('GET', '/dlq?queue=default&type=fail_sometimes&limit=200');
    expect(listed.body.jobs.map((j: { jobId: string }) => j.jobId)).not.toContain(id);
    expect((await getJob(id)).status).toBe('DEAD');
    expect((await api('DELETE', `/dlq/${id}`)).body.error.code).toBe('NOT_IN_DLQ');
  });

  it('retries a single job by id, and refuses jobs that are not DEAD or FAILED', async () => {
    const [id] = await deadJobs(1);
    expect((await api('POST', `/jobs/${id}/retry`)).status).toBe(202);
    const ok = await submitJob({ queue: 'default', type: 'delayed_message', payload: { message: 'fine' } });
    await waitForJob(ok.jobId);
    const refused = await api('POST', `/jobs/${ok.jobId}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('NOT_RETRYABLE');
  });
});

describe('robot steps in the job engine', () => {
  it('resumes a failed order from its dead step: completed steps are not re-run', async () => {
    // companion: each step allows 3 attempts; install_software fails its first 3 and dies.
    const { orderId } = await placeOrder('companion', {
      simulate: { stepDurationMs: 20, failures: { install_software: 3 } },
    });
    const failed = await waitForOrder(orderId, 60_000);
    expect(failed.status).toBe('FAILED');
    const before = Object.fromEntries(failed.steps.map((s: { name: string }) => [s.name, s]));
    const stepId = `${orderId}.install_software`;
    const dlq = await api('GET', '/dlq?queue=software&limit=200');
    expect(dlq.body.jobs.map((j: { jobId: string }) => j.jobId)).toContain(stepId);

    const retried = await api('POST', `/jobs/${stepId}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body.resumedOrder).toMatchObject({ orderId, execution: `${orderId}-resume-1` });
    const done = await waitForOrder(orderId, 60_000);
    expect(done.status).toBe('COMPLETED');
    const after = Object.fromEntries(done.steps.map((s: { name: string }) => [s.name, s]));
    // Steps before the dead one ran once, in the first execution.
    for (const name of ['fabricate_parts', 'assemble_body']) {
      if (!before[name]) continue;
      expect(after[name]).toMatchObject({
        status: 'COMPLETED',
        attempts: before[name].attempts,
        startedAt: before[name].startedAt,
      });
    }
    expect(after.install_software).toMatchObject({ status: 'COMPLETED', attempts: 4 });
    expect(done.resumes).toBe(1);
  });
});

describe('dependency graphs', () => {
  it("draws a job's dependencies with the critical path, and a batch's jobs the same way", async () => {
    const hold = (message: string, holdMs: number, dependsOn: string[] = []) => ({
      queue: 'default',
      type: 'delayed_message',
      payload: { message, holdMs },
      dependsOn,
    });
    const a = (await api('POST', '/jobs', hold('a', 100))).body.jobId as string;
    const slow = (await api('POST', '/jobs', hold('slow', 1500, [a]))).body.jobId as string;
    const quick = (await api('POST', '/jobs', hold('quick', 0, [a]))).body.jobId as string;
    const last = (await api('POST', '/jobs', hold('last', 0, [slow, quick]))).body.jobId as string;
    await waitForJob(last, finished);
    const { status, body } = await api('GET', `/jobs/${quick}/graph`);
    expect(status).toBe(200);
    expect(body.nodes.map((n: { jobId: string }) => n.jobId).sort()).toEqual([a, slow, quick, last].sort());
    expect(body.edges).toHaveLength(4);
    expect(body.edges).toContainEqual({ from: a, to: slow });
    // The slow branch bounds the whole graph.
    expect(body.criticalPath.jobIds).toEqual([a, slow, last]);
    expect(body.criticalPath.runMs).toBeGreaterThanOrEqual(1500);
    expect((await api('GET', '/jobs/job_missing/graph')).status).toBe(404);

    const batch = await api('POST', '/job-batches', {
      name: runTag('graph'),
      jobs: [hold('x', 0), hold('y', 0)],
    });
    for (const id of batch.body.jobIds) await waitForJob(id, finished);
    const graph = await api('GET', `/job-batches/${batch.body.batchId}/graph`);
    expect(graph.status).toBe(200);
    expect(graph.body.nodes).toHaveLength(2);
    expect(graph.body.nodes.every((n: { status: string }) => n.status === 'COMPLETED')).toBe(true);
    expect(graph.body.edges).toEqual([]);
    expect(graph.body.criticalPath.jobIds).toHaveLength(1);
  });
});

/** A batch's progress once `ready` holds: its counters follow the jobs by about a second. */
async function batchOnce(
  batchId: string,
  ready: (batch: Record<string, any>) => boolean,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await api('GET', `/job-batches/${batchId}`);
    expect(status).toBe(200);
    if (ready(body)) return body;
    if (Date.now() > deadline) throw new Error(`Batch ${batchId} not as awaited: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('batches', () => {
  it('counts a batch by state as its jobs finish', async () => {
    const tag = runTag('batch');
    const created = await api('POST', '/job-batches', {
      name: tag,
      jobs: [
        { queue: 'default', type: 'delayed_message', payload: { message: 'a' } },
        { queue: 'default', type: 'delayed_message', payload: { message: 'b' } },
        { queue: 'default', type: 'fail_sometimes', payload: { probability: 1 }, maxAttempts: 1 },
        { queue: 'default', type: 'delayed_message', payload: { message: 'later' }, delayMs: 3_600_000 },
      ],
    });
    expect(created.status).toBe(202);
    const { batchId, jobIds } = created.body;
    expect(jobIds).toHaveLength(4);
    await api('DELETE', `/jobs/${jobIds[3]}`);
    for (const id of jobIds.slice(0, 3)) await waitForJob(id, finished);
    const done = {
      name: tag,
      total: 4,
      completed: 2,
      dead: 1,
      cancelled: 1,
      pending: 0,
      running: 0,
      failed: 0,
      finished: true,
      progress: 100,
    };
    // The rows say it at once; the counters kept off the stream within seconds, and the finish
    // they report is confirmed from the rows.
    const exact = await api('GET', `/job-batches/${batchId}?exact=true`);
    expect(exact.status).toBe(200);
    expect(exact.body).toMatchObject(done);
    expect(await batchOnce(batchId, (b) => b.finished)).toMatchObject(done);
    expect((await api('GET', `/job-batches/${batchId}?exact=maybe`)).status).toBe(400);
    expect((await api('GET', '/job-batches/batch_nope')).status).toBe(404);
  });
});
