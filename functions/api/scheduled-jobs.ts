/**
 * Cron schedules: POST /scheduled-jobs, GET /scheduled-jobs, GET /scheduled-jobs/{id} (with the
 * next run times), PATCH /scheduled-jobs/{id} {paused}, DELETE /scheduled-jobs/{id}.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { cronPortsFromEnv } from '#adapters/operations';
import { type CronSchedule, OperationsStore } from '#adapters/operations-store';
import {
  InvalidSchedule,
  nextRuns,
  schedulePatchSchema,
  scheduleRequestSchema,
  validateCron,
} from '#domain/cron-schedules';
import { armNextOccurrence } from '#domain/cron-tick';
import { validateScheduledJob } from '#domain/schedule-planning';
import { jobTypes } from '#job-types/index';
import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { badRequest, notFound, rejectedAsHttp } from '#shared/http-errors';

const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
const cron = cronPortsFromEnv({ operations });
const idPath = z.object({ scheduleId: z.string().min(1).max(100) });

const isoTime = z.string().meta({ format: 'date-time' });
/** A schedule as every route shows it: the stored schedule and its next run times. */
const scheduleSchema = z
  .looseObject({
    scheduleId: z.string(),
    name: z.string(),
    cron: z.string(),
    timezone: z.string(),
    job: z
      .record(z.string(), z.unknown())
      .describe('The job each occurrence submits, as POST /jobs takes it'),
    paused: z.boolean(),
    createdAt: isoTime,
    lastOccurrence: isoTime.describe('Occurrences up to this time have been enqueued'),
    lastJobId: z.string().optional(),
    timerFor: isoTime.optional(),
    nextRuns: z.array(isoTime).describe('None while paused'),
  })
  .meta({ id: 'CronSchedule' });

const view = (schedule: CronSchedule, upcoming: number) => ({
  ...schedule,
  nextRuns: schedule.paused
    ? []
    : nextRuns(schedule.cron, schedule.timezone, new Date(), upcoming).map((d) => d.toISOString()),
});

const create = httpRoute(
  { body: scheduleRequestSchema, responses: { 201: scheduleSchema } },
  async ({ body }) => {
    try {
      validateCron(body.cron, body.timezone);
    } catch (error) {
      if (error instanceof InvalidSchedule) throw badRequest(error.code, error.message);
      throw error;
    }
    try {
      validateScheduledJob(body.job, jobTypes);
    } catch (error) {
      rejectedAsHttp(error);
    }
    const now = new Date().toISOString();
    const schedule: CronSchedule = {
      scheduleId: `sched_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`,
      name: body.name,
      cron: body.cron,
      timezone: body.timezone,
      job: body.job,
      paused: false,
      createdAt: now,
      lastOccurrence: now,
    };
    await operations.putSchedule(schedule);
    // The first occurrence may be seconds away: its timer cannot wait for the minute sweep.
    await armNextOccurrence(schedule, new Date(), cron);
    return json(201, view(schedule, 5));
  },
);

const list = httpRoute({ responses: { 200: z.object({ schedules: z.array(scheduleSchema) }) } }, async () =>
  json(200, { schedules: (await operations.schedules()).map((s) => view(s, 3)) }),
);

const get = httpRoute({ path: idPath, responses: { 200: scheduleSchema } }, async ({ path }) => {
  const schedule = await operations.getSchedule(path.scheduleId);
  if (!schedule) throw notFound('SCHEDULE_NOT_FOUND', `No schedule ${path.scheduleId}`);
  return json(200, view(schedule, 5));
});

const patch = httpRoute(
  { path: idPath, body: schedulePatchSchema, responses: { 200: scheduleSchema } },
  async ({ path, body }) => {
    const schedule = await operations.setPaused(path.scheduleId, body.paused);
    if (!schedule) throw notFound('SCHEDULE_NOT_FOUND', `No schedule ${path.scheduleId}`);
    // Resumed: arm the next occurrence again (a timer armed before the pause found it paused).
    if (!schedule.paused) await armNextOccurrence({ ...schedule, timerFor: undefined }, new Date(), cron);
    return json(200, view(schedule, 5));
  },
);

const remove = httpRoute(
  { path: idPath, responses: { 204: { description: 'Deleted' } } },
  async ({ path }) => {
    if (!(await operations.deleteSchedule(path.scheduleId)))
      throw notFound('SCHEDULE_NOT_FOUND', `No schedule ${path.scheduleId}`);
    return { statusCode: 204, body: '' };
  },
);

export const handler = byRoute({
  'POST /scheduled-jobs': create,
  'GET /scheduled-jobs': list,
  'GET /scheduled-jobs/{scheduleId}': get,
  'PATCH /scheduled-jobs/{scheduleId}': patch,
  'DELETE /scheduled-jobs/{scheduleId}': remove,
});
