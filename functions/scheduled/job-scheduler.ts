/**
 * Cron ticks (every minute): for each active schedule whose next occurrence is due, enqueue its
 * job once. The job's idempotency key names the schedule and the occurrence, so a second
 * scheduler running at the same time (or a retried tick) gets the same job back; the schedule's
 * lastOccurrence then moves on with a compare-and-set. Missed occurrences (downtime, pause) are
 * not replayed: only the latest due one runs.
 */
import middy from '@middy/core';
import { jobEngineFromEnv } from '#adapters/job-engine';
import { OperationsStore } from '#adapters/operations-store';
import { dueOccurrence, occurrenceKey } from '#domain/cron-schedules';
import { submitJobs } from '#domain/job-intake';
import { jobRequestSchema } from '#domain/job-submission';
import { requireEnv } from '#shared/env';
import { describeError, logger } from '#shared/logger';

const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
const engine = jobEngineFromEnv('scheduler');

export const handler = middy<
  unknown,
  { enqueued: { scheduleId: string; occurrence: string; jobId: string; duplicate: boolean }[] }
>().handler(async () => {
  const now = new Date();
  const enqueued = [];
  for (const schedule of await operations.schedules()) {
    if (schedule.paused) continue;
    try {
      const due = dueOccurrence(schedule.cron, schedule.timezone, new Date(schedule.lastOccurrence), now);
      if (!due) continue;
      const request = jobRequestSchema.parse({
        ...schedule.job,
        idempotencyKey: occurrenceKey(schedule.scheduleId, due),
      });
      const [accepted] = await submitJobs([request], engine.intake, { indexed: false });
      if (!accepted) continue;
      await operations.advanceSchedule(schedule, due.toISOString(), accepted.jobId);
      enqueued.push({
        scheduleId: schedule.scheduleId,
        occurrence: due.toISOString(),
        jobId: accepted.jobId,
        duplicate: accepted.duplicate,
      });
    } catch (error) {
      logger.error('A schedule could not be run', {
        scheduleId: schedule.scheduleId,
        ...describeError(error),
      });
    }
  }
  return { enqueued };
});
