/** The sweep's backstop for wake-ups held by an invocation that stopped (in-memory ports, injected clock). */
import { describe, expect, it } from 'vitest';
import { type HeldWakeUpPorts, resendHeldWakeUps } from '../../functions/domain/held-wake-ups.ts';
import type { JobDispatch } from '../../functions/domain/job-intake.ts';
import { bandOf, type PriorityBand } from '../../functions/domain/job-queues.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { now, queuedJob } from './fixtures/attempt-harness.ts';

const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();
const waiting = (jobId: string, dueMinutesAgo: number, priority = 5): JobRecord => ({
  ...queuedJob(jobId, priority),
  runAt: minutesAgo(dueMinutesAgo),
  readyKey: `default#${bandOf(priority)}`,
});

function fakes(rows: JobRecord[], reach: Partial<Record<PriorityBand, number>> = {}, failing: string[] = []) {
  const jobs = new Map(rows.map((r) => [r.jobId, r]));
  const sent: JobDispatch[] = [];
  const logs: { jobId: string; message: string; level: string }[] = [];
  const asked = { overdue: 0, visibleMessages: [] as string[], rows: 0 };
  const ports: HeldWakeUpPorts = {
    queues: ['default'],
    // As the ready index answers: the entries of the band due by then (rows keep theirs while running unlisted).
    overdue: async (queue, band, dueBy, limit) => {
      asked.overdue++;
      return [...jobs.values()]
        .filter((j) => j.queue === queue && j.readyKey === `${queue}#${band}`)
        .filter((j) => (j.runAt ?? j.createdAt) <= dueBy.toISOString())
        .slice(0, limit)
        .map((j) => j.jobId);
    },
    visibleMessages: async (queue, band) => {
      asked.visibleMessages.push(`${queue}#${band}`);
      return reach[band] ?? 0;
    },
    rows: async (ids) => {
      asked.rows++;
      return new Map(ids.flatMap((id) => (jobs.has(id) ? [[id, jobs.get(id) as JobRecord]] : [])));
    },
    send: async (wakeUps) => {
      sent.push(...wakeUps);
      return new Set(wakeUps.map((w) => w.jobId).filter((id) => failing.includes(id)));
    },
    logs: {
      append: async (jobId, entry) => void logs.push({ jobId, message: entry.message, level: entry.level }),
    },
    clock: { now: () => now },
    actor: 'dispatcher',
  };
  return { ports, sent, logs, asked };
}

describe('held wake-ups (the sweep’s backstop)', () => {
  it('sends a new wake-up to a job due 3 minutes ago when its band queue holds no message, and logs why', async () => {
    // Prepare: an invocation died holding the wake-up; nothing else is queued.
    const { ports, sent, logs } = fakes([waiting('job_held', 3)]);

    const result = await resendHeldWakeUps(ports);

    expect(sent).toEqual([
      { queue: 'default', band: 'normal', jobId: 'job_held', priority: 5, delaySeconds: 0 },
    ]);
    expect(result).toEqual({ overdueBands: 1, emptyBands: 1, resent: 1, failed: 0, failedBands: 0 });
    expect(logs).toEqual([
      expect.objectContaining({
        jobId: 'job_held',
        level: 'WARN',
        message: expect.stringContaining('Wake-up sent again'),
      }),
    ]);
  });

  it('leaves a band alone while its queue holds messages a worker can take now (a backlog, a pause)', async () => {
    const { ports, sent, asked } = fakes([waiting('job_behind', 10)], { normal: 40 });

    const result = await resendHeldWakeUps(ports);

    expect(sent).toEqual([]);
    expect(result).toMatchObject({ overdueBands: 1, emptyBands: 0, resent: 0 });
    expect(asked.rows).toBe(0);
  });

  it('waits `heldAfterMs` from the due time: a job due a minute ago still has its wake-up coming', async () => {
    const { ports, sent, asked } = fakes([waiting('job_fresh', 1)]);

    expect(await resendHeldWakeUps(ports)).toMatchObject({ overdueBands: 0, resent: 0 });
    expect(sent).toEqual([]);
    // A quiet system costs one ready-index read per band and nothing of SQS.
    expect(asked.overdue).toBe(3);
    expect(asked.visibleMessages).toEqual([]);
    expect((await resendHeldWakeUps(ports, { heldAfterMs: 30_000 })).resent).toBe(1);
  });

  it('wakes an unlisted attempt whose lease ran out long ago, not a listed one nor one still alive', async () => {
    const unlisted = (jobId: string, leaseMinutesAgo: number, extra: Partial<JobRecord> = {}): JobRecord => ({
      ...waiting(jobId, 20),
      status: 'RUNNING',
      attempts: 1,
      leaseExpiresAt: now.getTime() - leaseMinutesAgo * 60_000,
      ...extra,
    });
    const { ports, sent } = fakes([
      unlisted('job_lost', 5),
      unlisted('job_alive', -0.5),
      unlisted('job_just_lost', 1),
      // Listed: the lease sweep finds it in its RUNNING partition; its ready entry is gone anyway.
      unlisted('job_listed', 5, { queueStatus: 'default#RUNNING' }),
      { ...waiting('job_done', 20), status: 'COMPLETED' },
    ]);

    await resendHeldWakeUps(ports);

    expect(sent.map((w) => w.jobId)).toEqual(['job_lost']);
  });

  it('wakes every startable state once due — delayed, a retry waiting out its backoff — but not one waiting on dependencies', async () => {
    const { ports, sent } = fakes([
      { ...waiting('job_delayed', 4), status: 'PENDING' },
      { ...waiting('job_retry', 4), status: 'FAILED', attempts: 1 },
      { ...waiting('job_retrying', 4), status: 'RETRYING', attempts: 1 },
      { ...waiting('job_blocked', 4), waitingOn: new Set(['job_first']) },
    ]);

    await resendHeldWakeUps(ports);

    expect(sent.map((w) => w.jobId).sort()).toEqual(['job_delayed', 'job_retry', 'job_retrying']);
  });

  it('looks at every band and sends each job to its own band queue', async () => {
    const { ports, sent, asked } = fakes(
      [waiting('job_urgent', 5, 1), waiting('job_low', 5, 9), waiting('job_normal', 5, 4)],
      { normal: 3 },
    );

    await resendHeldWakeUps(ports);

    expect(asked.visibleMessages.sort()).toEqual(['default#low', 'default#normal', 'default#urgent']);
    expect(sent.map((w) => [w.jobId, w.band]).sort()).toEqual([
      ['job_low', 'low'],
      ['job_urgent', 'urgent'],
    ]);
  });

  it('looks at the other bands when one cannot be read, and keeps the count when a log line fails', async () => {
    const { ports, sent } = fakes([waiting('job_low', 5, 9), waiting('job_normal', 5, 4)]);
    const overdue = ports.overdue;
    const failing: HeldWakeUpPorts = {
      ...ports,
      overdue: (queue, band, dueBy, limit) =>
        band === 'urgent' ? Promise.reject(new Error('throttled')) : overdue(queue, band, dueBy, limit),
      logs: { append: () => Promise.reject(new Error('log table throttled')) },
    };

    const result = await resendHeldWakeUps(failing);

    expect(sent.map((w) => w.jobId).sort()).toEqual(['job_low', 'job_normal']);
    expect(result).toMatchObject({ resent: 2, failedBands: 1 });
  });

  it('counts a failed send and logs only the wake-ups that went out', async () => {
    const { ports, logs } = fakes([waiting('job_a', 4), waiting('job_b', 4)], {}, ['job_b']);

    const result = await resendHeldWakeUps(ports);

    expect(result).toMatchObject({ resent: 1, failed: 1 });
    expect(logs.map((l) => l.jobId)).toEqual(['job_a']);
  });
});
