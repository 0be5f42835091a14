/**
 * Cron schedules (POST /scheduled-jobs): a cron expression (5 fields, or 6 with seconds), an
 * IANA time zone, and the job to enqueue. Each occurrence's job gets the idempotency key
 * `schedule:<id>:<occurrence>`, so two scheduler ticks that run concurrently (or a retried tick)
 * enqueue it once.
 */
import { Cron } from 'croner';
import * as z from 'zod';
import { jobRequestSchema } from './job-submission.ts';

export interface CronSchedule {
  readonly scheduleId: string;
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly job: Record<string, unknown>;
  readonly paused: boolean;
  readonly createdAt: string;
  /** Occurrences up to this time have been enqueued. */
  readonly lastOccurrence: string;
  readonly lastJobId?: string;
  /** The occurrence a precise timer is armed for (domain/timers.ts). */
  readonly timerFor?: string;
}

export const scheduleRequestSchema = z
  .object({
    name: z.string().min(1).max(200),
    cron: z.string().min(9).max(120),
    timezone: z.string().min(1).max(64).default('UTC'),
    job: jobRequestSchema,
  })
  .strict();
export type ScheduleRequest = z.infer<typeof scheduleRequestSchema>;

export const schedulePatchSchema = z.object({ paused: z.boolean() }).strict();

export class InvalidSchedule extends Error {
  override readonly name = 'InvalidSchedule';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function validateCron(cron: string, timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new InvalidSchedule('INVALID_TIMEZONE', `"${timezone}" is not an IANA time zone`);
  }
  try {
    const parsed = new Cron(cron, { timezone, paused: true });
    if (!parsed.nextRun()) throw new Error('it never fires');
  } catch (error) {
    throw new InvalidSchedule(
      'INVALID_CRON',
      `"${cron}" is not a valid cron expression: ${(error as Error).message}`,
    );
  }
}

/** The next `count` occurrences strictly after `after`. */
export function nextRuns(cron: string, timezone: string, after: Date, count: number): Date[] {
  const runs: Date[] = [];
  const pattern = new Cron(cron, { timezone, paused: true });
  let cursor = after;
  while (runs.length < count) {
    const next = pattern.nextRun(cursor);
    if (!next) break;
    runs.push(next);
    cursor = next;
  }
  return runs;
}

/** The latest occurrence at or before `now` that is after `since`, if any (missed ones are skipped). */
export function dueOccurrence(cron: string, timezone: string, since: Date, now: Date): Date | undefined {
  const pattern = new Cron(cron, { timezone, paused: true });
  let due: Date | undefined;
  let cursor = since;
  for (let i = 0; i < 10_000; i++) {
    const next = pattern.nextRun(cursor);
    if (!next || next.getTime() > now.getTime()) break;
    due = next;
    cursor = next;
  }
  return due;
}

export const occurrenceKey = (scheduleId: string, occurrence: Date) =>
  `schedule:${scheduleId}:${occurrence.toISOString()}`;
