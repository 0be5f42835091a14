/**
 * Factory operations over HTTP: workers and heartbeats, scaling (manual and autoscaler),
 * maintenance windows, cron schedules, rate limits and analytics. The tests that pause or
 * scale a queue use "reports" and run one after another in this file.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { occurrenceKey } from '../../functions/domain/cron-schedules.ts';
import { jobIdForKey } from '../../functions/domain/job-submission.ts';
import { heldLookEveryMs } from '../../functions/domain/ready-ahead-memo.ts';
import {
  api,
  awsClients,
  bearer,
  dueWithWakeUpHeld,
  getJob,
  invokeFunction,
  type Job,
  jobLogOnce,
  placeOrder,
  runTag,
  submitJob,
  tableNamed,
  waitForJob,
  waitForOrder,
} from '../helpers/factory-client.ts';

const { lambda, dynamo } = awsClients();
afterAll(() => lambda.destroy());
const finished = (job: { status: string }) => ['COMPLETED', 'DEAD', 'CANCELLED'].includes(job.status);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const report = (i = 0) => ({
  queue: 'reports',
  type: 'generate_report',
  payload: { title: `r${i}`, from: '2020-01-01', to: '2020-01-02' },
});

async function reportsMappings() {
  const { EventSourceMappings = [] } = await lambda.send(new ListEventSourceMappingsCommand({}));
  return EventSourceMappings.filter((m) => m.EventSourceArn?.includes('ReportsJobQueue'));
}

/** Resolves once every mapping of the reports queue (or of one band) has finished its polls and is Disabled. */
async function reportsDisabled(band = '') {
  for (const m of (await reportsMappings()).filter((m) => m.EventSourceArn?.includes(band))) {
    while ((await lambda.send(new GetEventSourceMappingCommand({ UUID: m.UUID }))).State !== 'Disabled')
      await sleep(100);
  }
}

/**
 * Holds the reports queue still (its mappings disabled) while `arrive` submits, then lets go;
 * with a band (`NormalQueue`), only that band's mapping: the queue is not paused, and its jobs
 * of that band wait.
 */
async function whileReportsHeld(arrive: () => Promise<void>, band = '') {
  const mappings = (await reportsMappings()).filter((m) => m.EventSourceArn?.includes(band));
  const setEnabled = (Enabled: boolean) =>
    Promise.all(
      mappings.map((m) => lambda.send(new UpdateEventSourceMappingCommand({ UUID: m.UUID, Enabled }))),
    );
  await setEnabled(false);
  try {
    await reportsDisabled(band);
    await arrive();
  } finally {
    await setEnabled(true);
  }
}

async function reportsConcurrency() {
  const { body } = await api('GET', '/workers/status?queue=reports');
  return body.queues[0].summary.configuredConcurrency as number;
}

describe('workers', () => {
  it('lists workers per queue with state, heartbeat and counters, and a summary per queue', async () => {
    const { jobId } = await submitJob(report(1));
    await waitForJob(jobId);
    const { status, body } = await api('GET', '/workers/status');
    expect(status).toBe(200);
    const reports = body.queues.find((q: { queue: string }) => q.queue === 'reports');
    expect(reports.summary).toMatchObject({ configuredConcurrency: expect.any(Number), paused: false });
    expect(reports.summary.activeWorkers).toBeGreaterThanOrEqual(1);
    const worker = reports.workers[0];
    expect(worker).toMatchObject({ queue: 'reports', status: expect.stringMatching(/^(idle|busy|lost)$/) });
    for (const key of [
      'workerId',
      'startedAt',
      'lastHeartbeatAt',
      'jobsProcessed',
      'failures',
      'memoryUsedMb',
    ])
      expect(worker).toHaveProperty(key);
    expect(
      reports.workers.reduce((sum: number, w: { jobsProcessed: number }) => sum + w.jobsProcessed, 0),
    ).toBeGreaterThanOrEqual(1);
    expect(body.queues.map((q: { queue: string }) => q.queue)).toEqual(
      expect.arrayContaining(['default', 'packaging']),
    );
  });
});

describe('scaling', () => {
  it('sets a queue concurrency through the event source mappings, audited and visible', async () => {
    const response = await fetch(`${inject('apiUrl')}/workers/scale`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer() },
      body: JSON.stringify({ queue: 'reports', concurrency: 12, reason: 'month-end reports' }),
    });
    expect(response.status).toBe(200);
    const event = (await response.json()) as { from: number };
    expect(event).toMatchObject({
      queue: 'reports',
      to: 12,
      by: expect.stringMatching(/^local admin \(key k[0-9a-f]{12}\)$/),
      reason: 'month-end reports',
      source: 'manual',
    });
    const mappings = await reportsMappings();
    const total = mappings.reduce((sum, m) => sum + (m.ScalingConfig?.MaximumConcurrency ?? 0), 0);
    expect(total).toBe(12);
    expect(mappings.every((m) => (m.ScalingConfig?.MaximumConcurrency ?? 0) >= 2)).toBe(true);
    expect(await reportsConcurrency()).toBe(12);
    const events = await api('GET', '/workers/scaling-events?queue=reports&limit=5');
    expect(events.body.events[0]).toMatchObject({
      queue: 'reports',
      from: event.from,
      to: 12,
      by: expect.stringMatching(/^local admin \(key k[0-9a-f]{12}\)$/),
    });
  });

  it('rejects concurrency out of range and unknown queues', async () => {
    const tooLow = await api('POST', '/workers/scale', { queue: 'reports', concurrency: 3 });
    expect(tooLow.status).toBe(400);
    expect(tooLow.body.error.code).toBe('CONCURRENCY_OUT_OF_RANGE');
    expect((await api('POST', '/workers/scale', { queue: 'packaging', concurrency: 3001 })).status).toBe(400);
    const mixed = await api('POST', '/workers/scale', { queue: 'reports', mode: 'auto', concurrency: 9 });
    expect(mixed.status).toBe(400);
    const inverted = await api('POST', '/workers/scale', {
      queue: 'reports',
      mode: 'auto',
      min: 20,
      max: 10,
    });
    expect(inverted.body.error.code).toBe('INVALID_BOUNDS');
    expect((await api('POST', '/workers/scale', { queue: 'warp', concurrency: 5 })).status).toBe(400);
  });

  it("an operator's scale holds against the autoscaler until released to it", async () => {
    // Prepare: reports idles, so the autoscaler would take it down to its minimum (6).
    const pinned = await api('POST', '/workers/scale', {
      queue: 'reports',
      concurrency: 12,
      reason: 'month end',
    });
    expect(pinned.body).toMatchObject({ to: 12, mode: 'manual', reason: 'month end' });
    // Act
    await invokeFunction('Autoscaler');
    await invokeFunction('Autoscaler');
    // Assess
    const { body } = await api('GET', '/workers/status?queue=reports');
    expect(body.queues[0].summary).toMatchObject({
      configuredConcurrency: 12,
      scaling: { mode: 'manual', pinnedTo: 12, reason: 'month end' },
    });
    const released = await api('POST', '/workers/scale', { queue: 'reports', mode: 'auto', min: 6, max: 40 });
    expect(released.body).toMatchObject({ mode: 'auto', bounds: { min: 6, max: 40 } });
    const after = await api('GET', '/workers/status?queue=reports');
    expect(after.body.queues[0].summary.scaling).toMatchObject({ mode: 'auto', bounds: { min: 6, max: 40 } });
    const tick = await invokeFunction('Autoscaler');
    expect(tick.decisions.find((d: { queue: string }) => d.queue === 'reports')).toMatchObject({
      from: 12,
      desired: 6,
    });
    const events = await api('GET', '/workers/scaling-events?queue=reports&limit=3');
    expect(events.body.events.map((e: { by: string; mode?: string }) => [e.by, e.mode ?? null])).toEqual([
      ['autoscaler', null],
      // The acting key: its name and id.
      [expect.stringMatching(/^local admin \(key k[0-9a-f]{12}\)$/), 'auto'],
      [expect.stringMatching(/^local admin \(key k[0-9a-f]{12}\)$/), 'manual'],
    ]);
  });

  it('autoscaler, predictive: sizes a queue from the queueing model of its last hour', async () => {
    // Refused: a target without the predictive policy, a policy for a pinned queue.
    const noPolicy = await api('POST', '/workers/scale', {
      queue: 'notifications',
      mode: 'auto',
      targetWaitMs: 500,
    });
    expect(noPolicy).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const pinned = await api('POST', '/workers/scale', {
      queue: 'notifications',
      concurrency: 8,
      policy: 'predictive',
    });
    expect(pinned.status).toBe(400);
    try {
      const set = await api('POST', '/workers/scale', {
        queue: 'notifications',
        mode: 'auto',
        policy: 'predictive',
        targetWaitMs: 500,
      });
      expect(set).toMatchObject({ status: 200, body: { policy: 'predictive', targetWaitMs: 500 } });
      const status = await api('GET', '/workers/status?queue=notifications');
      expect(status.body.queues[0].summary.scaling).toMatchObject({
        mode: 'auto',
        policy: 'predictive',
        targetWaitMs: 500,
      });
      const tick = await invokeFunction('Autoscaler');
      const decision = tick.decisions.find((d: { queue: string }) => d.queue === 'notifications');
      expect(decision.reason).toMatch(/^predictive: \d+ for the arrivals/);
      expect(decision.desired).toBeGreaterThanOrEqual(6);
    } finally {
      await api('POST', '/workers/scale', { queue: 'notifications', mode: 'auto' });
    }
  });

  it('autoscaler: a backlog scales the queue up, an idle queue back down', async () => {
    await api('POST', '/workers/scale', { queue: 'reports', concurrency: 6 });
    await api('POST', '/workers/scale', { queue: 'reports', mode: 'auto' });
    // A backlog the queue has not begun: its normal band (where these jobs go) is held while
    // 40 jobs arrive and the autoscaler ticks. (The other bands run, so the queue is not
    // paused; and the autoscaler adds no workers for a backlog the queue clears within the
    // minute at the rate it has been completing jobs, which it might for jobs already running.)
    let ids: string[] = [];
    let up: { decisions: { queue: string; from: number; desired: number; reason: string }[] } = {
      decisions: [],
    };
    await whileReportsHeld(async () => {
      const { body } = await api('POST', '/jobs/bulk', {
        jobs: Array.from({ length: 40 }, (_, i) => report(i)),
      });
      ids = body.jobs.map((j: { jobId: string }) => j.jobId);
      up = await invokeFunction('Autoscaler');
    }, 'NormalQueue');
    const decision = up.decisions.find((d) => d.queue === 'reports');
    if (!decision) throw new Error('no decision for reports');
    expect(decision.from).toBe(6);
    expect(decision.desired).toBeGreaterThan(6);
    expect(decision.reason).toMatch(/backlog/);
    expect(await reportsConcurrency()).toBe(decision.desired);

    for (const id of ids) await waitForJob(id, finished, 60_000);
    await sleep(500);
    const down = await invokeFunction('Autoscaler');
    const idle = down.decisions.find((d: { queue: string }) => d.queue === 'reports');
    expect(idle).toMatchObject({ desired: 6, reason: expect.stringMatching(/^idle/) });
    expect(await reportsConcurrency()).toBe(6);
    const events = await api('GET', '/workers/scaling-events?queue=reports&limit=10');
    const auto = events.body.events.filter((e: { source: string }) => e.source === 'autoscaler');
    expect(auto.length).toBeGreaterThanOrEqual(2);
    expect(auto[0]).toMatchObject({ to: 6, by: 'autoscaler' });
  });
});

describe('priority within a band', () => {
  it('starts a higher priority first inside a band, and every job still runs', async () => {
    // Prepare: reports holds still while eight priority-6 jobs and then two priority-3 jobs
    // arrive: one band (normal, 3–6), so SQS alone would run the eight first.
    let low: string[] = [];
    let high: string[] = [];
    // Act: the queue lets go once all ten are waiting.
    await whileReportsHeld(async () => {
      const first = await api('POST', '/jobs/bulk', {
        jobs: Array.from({ length: 8 }, (_, i) => ({ ...report(i), priority: 6 })),
      });
      low = first.body.jobs.map((j: { jobId: string }) => j.jobId);
      const second = await api('POST', '/jobs/bulk', {
        jobs: Array.from({ length: 2 }, (_, i) => ({ ...report(100 + i), priority: 3 })),
      });
      high = second.body.jobs.map((j: { jobId: string }) => j.jobId);
    });

    // Assess
    const jobs = [];
    for (const id of [...low, ...high]) jobs.push(await waitForJob(id, finished, 60_000));
    // Every job ran to COMPLETED without an error (a slow moto may redeliver one: at-least-once,
    // a second attempt then completes it); a failure names each job's state and error.
    expect(jobs.map((j) => `${j.jobId} ${j.status} ${j.error ?? ''}`.trim())).toEqual(
      jobs.map((j) => `${j.jobId} COMPLETED`),
    );
    const order = [...jobs]
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
      .map((j) => j.jobId);
    for (const id of high) expect(order.indexOf(id)).toBeLessThan(3);
    const overtaking = (
      await jobLogOnce(high[0] as string, (log) => log.some((l) => / started on reports/.test(l.message)))
    ).find((l) => / started on reports/.test(l.message));
    expect(overtaking?.message).toMatch(/priority 3, ahead of job_/);
  });

  it("takes a job whose wake-up a dead invocation holds, while the band's backlog drains", async () => {
    let held = '';
    let recent = '';
    let backlog: string[] = [];
    await whileReportsHeld(async () => {
      // A backlog of a better priority in the band, first: the dispatcher's backstop leaves a band
      // with visible messages alone, so only the band's workers can find the held job.
      const { body } = await api('POST', '/jobs/bulk', {
        jobs: Array.from({ length: 8 }, (_, i) => ({ ...report(210 + i), priority: 5 })),
      });
      backlog = body.jobs.map((j: { jobId: string }) => j.jobId);
      // Stored with their wake-ups an hour away, then made what a dead invocation leaves: due,
      // their one wake-up hidden for the queue's 16 minutes, out of every worker's reach. The
      // held job has waited three minutes; the recent one 20 s, too short to be taken for held.
      held = (await submitJob({ ...report(200), priority: 6, delayMs: 3_600_000 })).jobId;
      recent = (await submitJob({ ...report(201), priority: 6, delayMs: 3_600_000 })).jobId;
      await dueWithWakeUpHeld(dynamo, held, 6, 180_000);
      await dueWithWakeUpHeld(dynamo, recent, 6, 20_000);
      // A worker environment looks for held jobs once in a window: let any recent look age out.
      await sleep(heldLookEveryMs);
    });

    // At most 20 + 10 + 60 s overdue by the time it is read: under the 2 minutes.
    expect((await waitForJob(held, finished, 60_000)).status).toBe('COMPLETED');
    expect(await getJob(recent)).toMatchObject({ status: 'PENDING', attempts: 0 });
    // Cancelled now: left waiting, it would be held in two minutes, and taken as it should be.
    expect((await api('DELETE', `/jobs/${recent}`)).status).toBe(200);
    const start = (
      await jobLogOnce(held, (log) => log.some((l) => / started on reports/.test(l.message)))
    ).find((l) => / started on reports/.test(l.message));
    expect(start?.message).toMatch(/its wake-up overdue; ahead of job_/);
    for (const id of backlog) expect((await waitForJob(id, finished, 60_000)).status).toBe('COMPLETED');
  });
});

describe('maintenance windows', () => {
  it('pauses the queue, runs a maintenance job with logs, and resumes afterwards', async () => {
    const endAt = new Date(Date.now() + 6000).toISOString();
    const created = await api('POST', '/factory/maintenance', {
      queue: 'reports',
      endAt,
      kind: 'inspection',
      note: 'rig check',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      queue: 'reports',
      kind: 'inspection',
      state: 'active',
      started: true,
    });
    const windowId = created.body.windowId;
    expect((await api('GET', '/workers/status?queue=reports')).body.queues[0].summary.paused).toBe(true);
    // As on AWS, a disabled mapping finishes the polls it has under way before it is Disabled.
    await reportsDisabled();

    // No new job starts while paused.
    const { jobId } = await submitJob(report(99));
    await sleep(2000);
    expect((await getJob(jobId)).status).toBe('QUEUED');
    const maintenanceJob = await waitForJob(created.body.maintenanceJobId, finished, 30_000);
    expect(maintenanceJob).toMatchObject({ type: 'run_maintenance', status: 'COMPLETED' });
    const stepLines = (log: { message: string }[]) =>
      log.filter((l) => /^Maintenance .* step \d\/4/.test(l.message));
    expect(
      stepLines(await jobLogOnce(maintenanceJob.jobId, (log) => stepLines(log).length >= 4)),
    ).toHaveLength(4);

    // The window's end resumes the queue by itself (its precise timer), and the job runs.
    expect((await waitForJob(jobId, finished, 30_000)).status).toBe('COMPLETED');
    expect(Date.parse((await getJob(jobId)).startedAt)).toBeGreaterThanOrEqual(Date.parse(endAt));
    const listed = await api('GET', '/factory/maintenance');
    expect(listed.body.windows.find((w: { windowId: string }) => w.windowId === windowId)).toMatchObject({
      state: 'completed',
    });
    // A tick after the fact finds nothing left to do.
    const tick = await invokeFunction('MaintenanceTicker');
    expect(tick.outcomes.filter((o: { windowId: string }) => o.windowId === windowId)).toEqual([]);
    expect((await api('DELETE', `/factory/maintenance/${windowId}`)).status).toBe(204);
    expect((await api('DELETE', `/factory/maintenance/${windowId}`)).status).toBe(404);
  });

  it('accepts recurring windows and rejects bad ones', async () => {
    const recurring = await api('POST', '/factory/maintenance', {
      line: 'calibration',
      cron: '0 3 * * 0',
      durationMinutes: 45,
      kind: 'calibration',
    });
    expect(recurring.status).toBe(201);
    expect(recurring.body).toMatchObject({ queue: 'calibration', state: 'scheduled', durationMinutes: 45 });
    expect(new Date(recurring.body.startAt).getUTCDay()).toBe(0);
    await api('DELETE', `/factory/maintenance/${recurring.body.windowId}`);
    expect((await api('POST', '/factory/maintenance', { line: 'calibration', kind: 'repair' })).status).toBe(
      400,
    );
    expect(
      (await api('POST', '/factory/maintenance', { line: 'warp', durationMinutes: 5, kind: 'repair' }))
        .status,
    ).toBe(400);
    expect(
      (
        await api('POST', '/factory/maintenance', {
          line: 'calibration',
          cron: 'every day',
          durationMinutes: 5,
          kind: 'repair',
        })
      ).body.error.code,
    ).toBe('INVALID_CRON');
  });
});

describe('queue pauses', () => {
  it('pauses a queue (running jobs finish, queued ones wait), shows it in every view, and resumes it', async () => {
    const paused = await api('POST', '/queues/reports/pause', { reason: 'renderer upgrade' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      queue: 'reports',
      paused: true,
      changed: true,
      reason: 'renderer upgrade',
    });
    await reportsDisabled();
    const { jobId } = await submitJob(report(7));
    await sleep(2000);
    expect((await getJob(jobId)).status).toBe('QUEUED');
    // A waiting job has no listing entry: the listing and the exact counts find it on `ready`.
    const waiting = await api('GET', `/jobs?queue=reports&status=QUEUED&type=${report(7).type}&limit=100`);
    expect(waiting.status).toBe(200);
    expect(waiting.body.jobs.map((j: { jobId: string }) => j.jobId)).toContain(jobId);
    expect(waiting.body.jobs.every((j: { status: string }) => j.status === 'QUEUED')).toBe(true);
    expect(
      (await api('GET', '/jobs?queue=reports&status=QUEUED&type=no_such_type')).body.jobs.map(
        (j: { jobId: string }) => j.jobId,
      ),
    ).not.toContain(jobId);
    const exact = await api('GET', '/jobs/stats?queue=reports&exact=true');
    expect(exact.body.waiting).toBeGreaterThanOrEqual(1);
    const { Items: listed = [] } = await dynamo.send(
      new QueryCommand({
        TableName: await tableNamed(dynamo, (t) => t.includes('Jobs') && !t.includes('Logs')),
        IndexName: 'byQueueStatus',
        KeyConditionExpression: 'queueStatus = :partition',
        ExpressionAttributeValues: { ':partition': { S: 'reports#QUEUED' } },
      }),
    );
    expect(listed.map((item) => item.jobId?.S)).not.toContain(jobId);
    const queues = await api('GET', '/queues');
    expect(queues.body.find((q: { name: string }) => q.name === 'reports')).toMatchObject({
      paused: true,
      pauseReason: 'renderer upgrade',
    });
    expect((await api('GET', '/jobs/queue?queue=reports')).body.queues[0].paused).toBe(true);
    expect((await api('GET', '/workers/status?queue=reports')).body.queues[0].summary.paused).toBe(true);
    // Pausing again changes nothing; a viewer or developer may not pause.
    expect((await api('POST', '/queues/reports/pause')).body.changed).toBe(false);
    expect((await api('POST', '/queues/reports/pause', undefined, bearer('developer'))).status).toBe(403);

    const resumed = await api('POST', '/queues/reports/resume');
    expect(resumed.body).toMatchObject({
      queue: 'reports',
      paused: false,
      changed: true,
      inMaintenance: false,
    });
    expect((await waitForJob(jobId, finished, 30_000)).status).toBe('COMPLETED');
    expect((await api('GET', '/jobs/queue?queue=reports')).body.queues[0].paused).toBe(false);
  });

  it('pauses and resumes several queues at once, and rejects unknown ones', async () => {
    const all = await api('POST', '/queues/pause', { queues: ['reports', 'media'] });
    expect(all.status).toBe(200);
    expect(all.body.queues.map((q: { queue: string; paused: boolean }) => [q.queue, q.paused])).toEqual([
      ['reports', true],
      ['media', true],
    ]);
    const back = await api('POST', '/queues/resume', { queues: ['reports', 'media'] });
    expect(back.body.queues.every((q: { paused: boolean; changed: boolean }) => !q.paused && q.changed)).toBe(
      true,
    );
    const unknown = await api('POST', '/queues/warp/pause');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('QUEUE_NOT_FOUND');
    const bad = await api('POST', '/queues/pause', { queues: ['warp'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('cron schedules', () => {
  it('enqueues exactly one job per occurrence, with timers and two schedulers at once', async () => {
    const name = runTag('cron');
    const created = await api('POST', '/scheduled-jobs', {
      name,
      cron: '*/2 * * * * *',
      timezone: 'Europe/Lisbon',
      job: { queue: 'default', type: 'delayed_message', payload: { message: name } },
    });
    expect(created.status).toBe(201);
    expect(created.body.nextRuns).toHaveLength(5);
    const id = created.body.scheduleId;
    await sleep(3000);
    // Two sweeps at once on top of the timers: whatever each enqueues is the occurrence's one job.
    const [a, b] = await Promise.all([invokeFunction('JobScheduler'), invokeFunction('JobScheduler')]);
    await sleep(2500);
    const paused = await api('PATCH', `/scheduled-jobs/${id}`, { paused: true });
    expect(paused.body).toMatchObject({ paused: true, nextRuns: [] });
    await sleep(2500);
    const none = await invokeFunction('JobScheduler');
    expect(none.enqueued.filter((e: { scheduleId: string }) => e.scheduleId === id)).toEqual([]);

    // Every occurrence from creation to the pause: each has at most one job, keyed by it.
    const pausedAt = Date.parse(paused.body.lastOccurrence);
    const mine: Job[] = [];
    for (let t = Math.ceil(Date.parse(created.body.createdAt) / 2000) * 2000; t <= pausedAt; t += 2000) {
      const found = await api('GET', `/jobs/${jobIdForKey(occurrenceKey(id, new Date(t)))}`);
      if (found.status === 200) mine.push(found.body);
    }
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((j) => j.payload?.message === name)).toBe(true);
    for (const e of [...a.enqueued, ...b.enqueued].filter((e: { scheduleId: string }) => e.scheduleId === id))
      expect(mine.map((j: Job) => j.jobId)).toContain(e.jobId);
    const job = await waitForJob((mine[0] as Job).jobId);
    expect(job.result.message).toBe(name);
    expect(mine.map((j: Job) => j.jobId)).toContain(
      (await api('GET', `/scheduled-jobs/${id}`)).body.lastJobId,
    );
    expect(
      (await api('GET', '/scheduled-jobs')).body.schedules.map((s: { scheduleId: string }) => s.scheduleId),
    ).toContain(id);
    expect((await api('DELETE', `/scheduled-jobs/${id}`)).status).toBe(204);
    expect((await api('GET', `/scheduled-jobs/${id}`)).status).toBe(404);
  });

  it('fires on time: an occurrence creates its job, a window pauses and resumes its queue, within 2 s', async () => {
    // Prepare: a cron every 3 s; a window on reports from 4 s to 9 s from now.
    const name = runTag('ontime');
    const created = await api('POST', '/scheduled-jobs', {
      name,
      cron: '*/3 * * * * *',
      job: { queue: 'default', type: 'delayed_message', payload: { message: name } },
    });
    const id = created.body.scheduleId;
    const startAt = new Date(Date.now() + 4000);
    const endAt = new Date(startAt.getTime() + 5000);
    const window = await api('POST', '/factory/maintenance', {
      queue: 'reports',
      startAt: startAt.toISOString(),
      endAt: endAt.toISOString(),
      kind: 'inspection',
    });
    expect(window.body.state).toBe('scheduled');

    // Act: wait for the first two occurrences' jobs, then for the window's end.
    const occurrences = (created.body.nextRuns as string[]).slice(0, 2);
    const jobs = [];
    for (const at of occurrences) {
      const jobId = jobIdForKey(occurrenceKey(id, new Date(at)));
      for (let found = await api('GET', `/jobs/${jobId}`); ; found = await api('GET', `/jobs/${jobId}`)) {
        if (found.status === 200) {
          jobs.push(found.body);
          break;
        }
        await sleep(100);
      }
    }
    await api('DELETE', `/scheduled-jobs/${id}`);

    // The 2 s where the data plane keeps up; on moto (one Python process shared with two
    // other files, ~50 calls/s) a looser bound, still far from the minute ticks' 60 s.
    const onTimeMs = inject('backend') === 'moto' ? 10_000 : 2000;
    // Wait for the window to end, as long as the bound allows; the timestamps below judge it.
    const windowState = async () =>
      (await api('GET', '/factory/maintenance')).body.windows.find(
        (w: { windowId: string }) => w.windowId === window.body.windowId,
      )?.state;
    await sleep(Math.max(0, endAt.getTime() - Date.now()));
    while (Date.now() < endAt.getTime() + onTimeMs && (await windowState()) !== 'completed') await sleep(250);

    // Assess
    for (const [i, job] of jobs.entries()) {
      const lateMs = Date.parse(job.createdAt) - Date.parse(occurrences[i] as string);
      expect(lateMs).toBeGreaterThanOrEqual(0);
      expect(lateMs).toBeLessThan(onTimeMs);
    }
    const listed = await api('GET', '/factory/maintenance');
    const done = listed.body.windows.find((w: { windowId: string }) => w.windowId === window.body.windowId);
    expect(done.state).toBe('completed');
    const [run] = done.history;
    expect(Date.parse(run.pausedAt) - startAt.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse(run.pausedAt) - startAt.getTime()).toBeLessThan(onTimeMs);
    expect(Date.parse(run.resumedAt) - endAt.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse(run.resumedAt) - endAt.getTime()).toBeLessThan(onTimeMs);
    expect((await api('GET', '/workers/status?queue=reports')).body.queues[0].summary.paused).toBe(false);
    await api('DELETE', `/factory/maintenance/${window.body.windowId}`);
  });

  it('rejects an invalid cron, an unknown time zone and an invalid job', async () => {
    const job = { queue: 'default', type: 'delayed_message', payload: { message: 'x' } };
    expect(
      (await api('POST', '/scheduled-jobs', { name: 'bad', cron: '61 * * * *', job })).body.error.code,
    ).toBe('INVALID_CRON');
    expect(
      (
        await api('POST', '/scheduled-jobs', {
          name: 'bad',
          cron: '0 * * * *',
          timezone: 'Mars/Olympus',
          job,
        })
      ).body.error.code,
    ).toBe('INVALID_TIMEZONE');
    expect(
      (
        await api('POST', '/scheduled-jobs', {
          name: 'bad',
          cron: '0 * * * *',
          job: { ...job, queue: 'warp' },
        })
      ).body.error.code,
    ).toBe('UNKNOWN_QUEUE');
  });
});

describe('rate limits', () => {
  // Not on moto: its DynamoDB does not serialize concurrent conditional updates (the slot
  // reservation), and at its ~80 requests/s the queue cannot reach 10 starts/s anyway.
  it.runIf(inject('backend') !== 'moto')(
    'holds 50 jobs to 10 per second across all workers: about 5 s, never more than 10 in any second',
    async () => {
      // notifications: cheap jobs (send_email), and enough workers that only the limit binds.
      await api('POST', '/workers/scale', { queue: 'notifications', concurrency: 36 });
      // Warm the band's workers first, so that cold starts do not stretch what is measured.
      const warm = await api('POST', '/jobs/bulk', {
        jobs: Array.from({ length: 24 }, (_, i) => ({
          queue: 'notifications',
          type: 'send_email',
          payload: { to: `warm${i}@example.com`, subject: 'warm-up', body: 'w' },
        })),
      });
      for (const j of warm.body.jobs) await waitForJob(j.jobId);
      const set = await api('PUT', '/queues/notifications/rate-limit', { limit: 10, windowMs: 1000 });
      expect(set.status).toBe(200);
      try {
        await sleep(5500); // workers re-read the limit at most every 5 s
        const tag = runTag('limited');
        const { body } = await api('POST', '/jobs/bulk', {
          jobs: Array.from({ length: 50 }, (_, i) => ({
            queue: 'notifications',
            type: 'send_email',
            payload: { to: `customer${i}@example.com`, subject: tag, body: 'Your robot is ready.' },
          })),
        });
        // One poll at a time: fifty parallel pollers would load the 2-core machine being measured.
        const jobs = [];
        for (const j of body.jobs) jobs.push(await waitForJob(j.jobId, finished, 60_000));
        expect(jobs.every((j) => j.status === 'COMPLETED')).toBe(true);
        const starts = jobs.map((j) => Date.parse(j.startedAt)).sort((a, b) => a - b);
        const span = (starts.at(-1) as number) - (starts[0] as number);
        // Never faster than the limit; how much slower depends on the machine, so only a
        // generous bound says the queue kept moving.
        expect(span).toBeGreaterThanOrEqual(4500);
        expect(span).toBeLessThan(30_000);
        for (const start of starts)
          expect(starts.filter((s) => s >= start && s < start + 1000).length).toBeLessThanOrEqual(10);
        const queues = await api('GET', '/queues');
        expect(queues.body.find((q: { name: string }) => q.name === 'notifications').rateLimit).toEqual({
          limit: 10,
          windowMs: 1000,
        });
        // Delayed, not failed: every job ran once.
        expect(jobs.every((j) => j.attempts === 1)).toBe(true);
      } finally {
        expect((await api('DELETE', '/queues/notifications/rate-limit')).status).toBe(204);
        await api('POST', '/workers/scale', { queue: 'notifications', concurrency: 12 });
        await api('POST', '/workers/scale', { queue: 'notifications', mode: 'auto' });
      }
      expect(
        (await api('PUT', '/queues/packaging/rate-limit', { limit: 1, windowMs: 1000 })).body.error.code,
      ).toBe('NOT_A_JOB_QUEUE');
      expect((await api('PUT', '/queues/reports/rate-limit', { limit: 0, windowMs: 1000 })).status).toBe(400);
    },
  );
});

describe('analytics', () => {
  it('reports throughput per bucket with percentiles from the pre-aggregated histograms', async () => {
    const { body: submitted } = await api('POST', '/jobs/bulk', {
      jobs: [
        ...Array.from({ length: 4 }, (_, i) => ({
          queue: 'default',
          type: 'delayed_message',
          payload: { message: `a${i}`, holdMs: 100 },
        })),
        { queue: 'default', type: 'fail_sometimes', payload: { probability: 1 }, maxAttempts: 1 },
      ],
    });
    for (const j of submitted.jobs) await waitForJob(j.jobId);
    const from = new Date(Date.now() - 10 * 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    // The counts come from the jobs table's stream, batched for up to a second: they follow the
    // jobs within seconds.
    const throughput = () =>
      api('GET', `/analytics/throughput?queue=default&from=${from}&to=${to}&granularity=minute`);
    await vi.waitFor(
      async () => {
        const { body } = await throughput();
        expect(body.totals.submitted).toBeGreaterThanOrEqual(5);
        expect(body.totals.completed).toBeGreaterThanOrEqual(4);
        expect(body.totals.dead).toBeGreaterThanOrEqual(1);
      },
      { timeout: 30_000, interval: 500 },
    );
    const { status, body } = await throughput();
    expect(status).toBe(200);
    expect(body.buckets.length).toBeGreaterThanOrEqual(10);
    expect(body.totals.submitted).toBeGreaterThanOrEqual(5);
    expect(body.totals.completed).toBeGreaterThanOrEqual(4);
    expect(body.totals.dead).toBeGreaterThanOrEqual(1);
    // The queue is shared with the other files' no-op jobs (0 ms runs): the percentiles exist, in order.
    expect(body.totals.runTimeMs.p50).toBeGreaterThanOrEqual(0);
    expect(body.totals.runTimeMs.p99).toBeGreaterThanOrEqual(body.totals.runTimeMs.p50);
    for (const key of ['jobsPerSecond', 'successRate', 'waitTimeMs']) expect(body.totals).toHaveProperty(key);
    const typed = await api(
      'GET',
      `/analytics/throughput?queue=default&type=fail_sometimes&from=${from}&to=${to}`,
    );
    expect(typed.body.totals.completed).toBeLessThan(body.totals.completed);
    expect(body.orders).toHaveProperty('byRobotType');
    expect(
      (
        await api(
          'GET',
          '/analytics/throughput?granularity=minute&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z',
        )
      ).body.error.code,
    ).toBe('RANGE_TOO_LARGE');
  });

  it('serves GET /metrics in the Prometheus text format to any key', async () => {
    const { status, body } = await api('GET', '/metrics', undefined, bearer('viewer'));
    expect(status).toBe(200);
    const families = new Map(parsePrometheusTextFormat(String(body)).map((f) => [f.name, f]));
    for (const name of [
      'factory_jobs',
      'factory_queue_paused',
      'factory_queue_concurrency',
      'factory_workers',
    ])
      expect(families.has(name), name).toBe(true);
    const queues = new Set(families.get('factory_jobs')?.metrics.map((m) => m.labels?.queue));
    expect(queues).toEqual(new Set((await api('GET', '/queues')).body.map((q: { name: string }) => q.name)));
    expect((await api('GET', '/metrics', undefined, { authorization: '' })).status).toBe(401);
  });

  it('advises the workers a queue needs for a target wait, with its reasoning in numbers', async () => {
    await api('POST', '/jobs/bulk', {
      jobs: Array.from({ length: 5 }, (_, i) => ({
        queue: 'default',
        type: 'delayed_message',
        payload: { message: `advice${i}`, holdMs: 200 },
      })),
    });
    await vi.waitFor(
      async () => {
        const { status, body } = await api(
          'GET',
          '/analytics/scaling-advice?queue=default&targetWaitMs=500&windowMinutes=10',
        );
        expect(status).toBe(200);
        expect(body.window.submitted).toBeGreaterThanOrEqual(5);
        expect(body.meanRunMs).toBeGreaterThanOrEqual(0);
        expect(body.suggestedWorkers).toBeGreaterThanOrEqual(1);
        expect(body.currentConcurrency).toBeGreaterThan(0);
        expect(body.reasoning).toHaveLength(4);
        expect(body.reasoning[0]).toMatch(/jobs submitted in the last 10 min/);
      },
      { timeout: 30_000, interval: 1000 },
    );
    expect((await api('GET', '/analytics/scaling-advice?queue=default&targetWaitMs=0')).status).toBe(400);
  });

  it('answers by day, week and month, and counts robot steps like jobs', async () => {
    // Prepare: an order's packaging step is a job of the packaging line.
    const { orderId } = await placeOrder('companion');
    await waitForOrder(orderId);
    await vi.waitFor(
      async () => {
        const { body } = await api('GET', '/analytics/throughput?granularity=hour&queue=packaging');
        expect(body.totals.completed).toBeGreaterThanOrEqual(1);
      },
      { timeout: 30_000, interval: 500 },
    );
    // Act
    const [day, week, month, steps] = await Promise.all([
      api('GET', '/analytics/throughput?granularity=day'),
      api('GET', '/analytics/throughput?granularity=week'),
      api('GET', '/analytics/throughput?granularity=month'),
      api('GET', '/analytics/throughput?granularity=hour&queue=packaging'),
    ]);
    // Assess
    expect(day.status).toBe(200);
    expect(day.body.buckets).toHaveLength(31);
    expect(day.body.buckets.at(-1).bucket).toBe(`${new Date().toISOString().slice(0, 10)}T00:00:00.000Z`);
    expect(new Date(week.body.buckets[0].bucket).getUTCDay()).toBe(1); // weeks start on Monday
    expect(
      month.body.buckets.every((b: { bucket: string }) => b.bucket.slice(8) === '01T00:00:00.000Z'),
    ).toBe(true);
    for (const answer of [day, week, month]) expect(answer.body.totals.completed).toBeGreaterThan(0);
    expect(steps.body.totals).toMatchObject({ submitted: expect.any(Number), completed: expect.any(Number) });
    expect(steps.body.totals.completed).toBeGreaterThanOrEqual(1);
    expect(steps.body.totals.waitTimeMs.p50).not.toBeNull();
    expect((await api('GET', '/analytics/throughput?granularity=year')).status).toBe(400);
  });

  it('serves queue and worker metrics, a job timeline and a duration histogram', async () => {
    const queues = await api('GET', '/metrics/queues');
    expect(queues.body.queues.find((q: { queue: string }) => q.queue === 'default')).toMatchObject({
      depth: expect.any(Number),
      inFlight: expect.any(Number),
      concurrency: expect.any(Number),
    });
    const workers = await api('GET', '/metrics/workers');
    expect(
      workers.body.queues.find((q: { queue: string }) => q.queue === 'default').jobsProcessed,
    ).toBeGreaterThan(0);
    const timeline = await api('GET', '/metrics/jobs/timeline?queue=default&limit=50');
    expect(timeline.body.jobs.length).toBeGreaterThan(0);
    expect(timeline.body.jobs[0]).toMatchObject({ jobId: expect.any(String), start: expect.any(String) });
    const histogram = await api('GET', '/metrics/job-duration-histogram?queue=default');
    expect(histogram.body.runTimeMs.count).toBeGreaterThan(0);
    expect(histogram.body.runTimeMs.buckets[0]).toMatchObject({
      upToMs: expect.any(Number),
      count: expect.any(Number),
    });
  });
});
