/**
 * Cron schedules at work. Each occurrence's job gets the idempotency key
 * `schedule:<id>:<occurrence>`, so a timer and a sweep (or two sweeps) that run the same
 * occurrence enqueue it once; the schedule's lastOccurrence then moves on with a compare-and-set.
 * - `runOccurrence` — a precise timer fired: enqueue that occurrence now, arm the next one.
 * - `cronSweep` — every minute, the safety net: enqueue the latest due occurrence that nothing
 *   enqueued (missed ones during downtime or a pause are not replayed), and arm the timers of
 *   occurrences coming within the timer horizon.
 */
import { type CronSchedule, dueOccurrence, nextRuns, occurrenceKey } from './cron-schedules.ts';
import { type JobRequest, jobRequestSchema } from './job-submission.ts';
import { type TimerPort, withinHorizon } from './timers.ts';

export interface CronPorts {
  readonly schedules: {
    schedules(): Promise<CronSchedule[]>;
    getSchedule(scheduleId: string): Promise<CronSchedule | undefined>;
    advanceSchedule(schedule: CronSchedule, occurrence: string, jobId: string): Promise<boolean>;
    markScheduleTimer(scheduleId: string, at: string): Promise<void>;
  };
  readonly submit: (job: JobRequest) => Promise<{ jobId: string; duplicate: boolean }>;
  readonly timers: TimerPort;
  readonly clock: { now(): Date };
}

export interface Enqueued {
  readonly scheduleId: string;
  readonly occurrence: string;
  readonly jobId: string;
  readonly duplicate: boolean;
}

async function enqueue(schedule: CronSchedule, occurrence: Date, ports: CronPorts): Promise<Enqueued> {
  const request = jobRequestSchema.parse({
    ...schedule.job,
    idempotencyKey: occurrenceKey(schedule.scheduleId, occurrence),
  });
  const accepted = await ports.submit(request);
  if (occurrence.toISOString() > schedule.lastOccurrence)
    await ports.schedules.advanceSchedule(schedule, occurrence.toISOString(), accepted.jobId);
  return {
    scheduleId: schedule.scheduleId,
    occurrence: occurrence.toISOString(),
    jobId: accepted.jobId,
    duplicate: accepted.duplicate,
  };
}

/** Arms the timer of the schedule's next occurrence after `after`, if it comes within the horizon. */
export async function armNextOccurrence(
  schedule: CronSchedule,
  after: Date,
  ports: CronPorts,
): Promise<void> {
  if (schedule.paused) return;
  const [next] = nextRuns(schedule.cron, schedule.timezone, after, 1);
  if (!next || !withinHorizon(next, ports.clock.now()) || schedule.timerFor === next.toISOString()) return;
  await ports.timers.arm({ kind: 'schedule', id: schedule.scheduleId, at: next.toISOString() });
  await ports.schedules.markScheduleTimer(schedule.scheduleId, next.toISOString());
}

export async function runOccurrence(
  scheduleId: string,
  occurrence: Date,
  ports: CronPorts,
): Promise<Enqueued | undefined> {
  const schedule = await ports.schedules.getSchedule(scheduleId);
  if (!schedule || schedule.paused) return undefined;
  const enqueued = await enqueue(schedule, occurrence, ports);
  await armNextOccurrence(schedule, occurrence, ports);
  return enqueued;
}

export async function cronSweep(
  ports: CronPorts,
  onError: (scheduleId: string, error: unknown) => void,
): Promise<Enqueued[]> {
  const now = ports.clock.now();
  const enqueued: Enqueued[] = [];
  for (const schedule of await ports.schedules.schedules()) {
    if (schedule.paused) continue;
    try {
      const due = dueOccurrence(schedule.cron, schedule.timezone, new Date(schedule.lastOccurrence), now);
      if (due) enqueued.push(await enqueue(schedule, due, ports));
      await armNextOccurrence(schedule, now, ports);
    } catch (error) {
      onError(schedule.scheduleId, error);
    }
  }
  return enqueued;
}
