import { describe, expect, it } from 'vitest';
import type { CronSchedule } from '../../functions/domain/cron-schedules.ts';
import { type CronPorts, cronSweep, runOccurrence } from '../../functions/domain/cron-tick.ts';
import type { MaintenanceWindow } from '../../functions/domain/maintenance.ts';
import { type MaintenancePorts, maintenanceTick } from '../../functions/domain/maintenance-tick.ts';
import { type TimerMessage, timerDelaySeconds } from '../../functions/domain/timers.ts';

const t0 = Date.parse('2026-12-01T10:00:00.000Z');

function cronHarness(schedule: CronSchedule) {
  let now = t0;
  const rows = new Map([[schedule.scheduleId, schedule]]);
  const armed: TimerMessage[] = [];
  const submitted: string[] = [];
  const ports: CronPorts = {
    schedules: {
      schedules: async () => [...rows.values()],
      getSchedule: async (id) => rows.get(id),
      advanceSchedule: async (s, occurrence, jobId) => {
        const row = rows.get(s.scheduleId) as CronSchedule;
        if (row.lastOccurrence !== s.lastOccurrence) return false;
        rows.set(s.scheduleId, { ...row, lastOccurrence: occurrence, lastJobId: jobId });
        return true;
      },
      markScheduleTimer: async (id, at) => {
        rows.set(id, { ...(rows.get(id) as CronSchedule), timerFor: at });
      },
    },
    submit: async (job) => {
      submitted.push(job.idempotencyKey as string);
      return { jobId: `job:${job.idempotencyKey}`, duplicate: false };
    },
    timers: { arm: async (timer) => void armed.push(timer) },
    clock: { now: () => new Date(now) },
  };
  return { ports, rows, armed, submitted, at: (ms: number) => (now = ms) };
}

const everyFiveSeconds: CronSchedule = {
  scheduleId: 's1',
  name: 'n',
  cron: '*/5 * * * * *',
  timezone: 'UTC',
  job: { queue: 'default', type: 'delayed_message', payload: { message: 'm' } },
  paused: false,
  createdAt: new Date(t0).toISOString(),
  lastOccurrence: new Date(t0).toISOString(),
};

describe('precise timers', () => {
  it('deliver a little early (a whole-second SQS delay), never beyond 15 minutes', () => {
    expect(timerDelaySeconds(new Date(t0 + 10_500), new Date(t0))).toBe(8);
    expect(timerDelaySeconds(new Date(t0 + 1000), new Date(t0))).toBe(0);
    expect(timerDelaySeconds(new Date(t0 + 3_600_000), new Date(t0))).toBe(900);
  });

  it('arm the next cron occurrence once, however many sweeps run', async () => {
    const { ports, armed } = cronHarness(everyFiveSeconds);
    await cronSweep(ports, () => undefined);
    await cronSweep(ports, () => undefined);
    expect(armed).toEqual([{ kind: 'schedule', id: 's1', at: '2026-12-01T10:00:05.000Z' }]);
  });

  it('run an occurrence when its timer fires: its job, the schedule moved on, the next timer armed', async () => {
    const { ports, rows, armed, submitted, at } = cronHarness(everyFiveSeconds);
    at(t0 + 5000);
    await runOccurrence('s1', new Date(t0 + 5000), ports);
    // A sweep right after finds nothing due: the occurrence is done.
    await cronSweep(ports, () => undefined);
    expect(submitted).toEqual(['schedule:s1:2026-12-01T10:00:05.000Z']);
    expect(rows.get('s1')?.lastOccurrence).toBe('2026-12-01T10:00:05.000Z');
    expect(armed.map((t) => t.at)).toEqual(['2026-12-01T10:00:10.000Z']);
  });

  it('leave a paused schedule alone when its timer fires', async () => {
    const { ports, submitted } = cronHarness({ ...everyFiveSeconds, paused: true });
    expect(await runOccurrence('s1', new Date(t0 + 5000), ports)).toBeUndefined();
    expect(submitted).toEqual([]);
  });

  it('arm a window at its start, and once it paused the queue, at its end', async () => {
    let now = t0;
    let window: MaintenanceWindow = {
      windowId: 'mw1',
      queue: 'reports',
      kind: 'inspection',
      startAt: new Date(t0 + 30_000).toISOString(),
      endAt: new Date(t0 + 90_000).toISOString(),
      timezone: 'UTC',
      durationMinutes: 1,
      createdAt: new Date(t0).toISOString(),
    };
    const armed: TimerMessage[] = [];
    const enabled: boolean[] = [];
    const ports: MaintenancePorts = {
      windows: {
        windows: async () => [window],
        transitionWindow: async (_seen, next) => {
          window = next;
          return true;
        },
        markWindowTimer: async (_id, at) => {
          window = { ...window, timerFor: at };
        },
      },
      queues: { setEnabled: async (_q, on) => void enabled.push(on) },
      pauses: { pauses: async () => new Map() },
      submit: async () => ({ jobId: 'job_m' }),
      timers: { arm: async (timer) => void armed.push(timer) },
      clock: { now: () => new Date(now) },
    };
    await maintenanceTick(ports);
    await maintenanceTick(ports);
    now = t0 + 30_000;
    await maintenanceTick(ports, 'mw1');
    now = t0 + 90_000;
    await maintenanceTick(ports, 'mw1');
    expect(armed.map((t) => t.at)).toEqual([window.startAt, window.endAt]);
    expect(enabled).toEqual([false, true]);
    expect(window.history?.[0]).toMatchObject({
      pausedAt: new Date(t0 + 30_000).toISOString(),
      resumedAt: new Date(t0 + 90_000).toISOString(),
    });
  });
});
