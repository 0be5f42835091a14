/**
 * Maintenance windows: POST /factory/maintenance, GET /factory/maintenance,
 * DELETE /factory/maintenance/{windowId}. A window that has begun takes effect at once (the
 * handler runs the tick for it); the minute ticker does the rest.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { maintenancePortsFromEnv, operationsFromEnv } from '#adapters/operations';
import {
  InvalidWindow,
  isWindowOver,
  type MaintenanceWindow,
  maintenanceKinds,
  maintenanceRequestSchema,
  planWindow,
} from '#domain/maintenance';
import { maintenanceTick } from '#domain/maintenance-tick';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { badRequest, notFound } from '#shared/http-errors';

const ops = operationsFromEnv();
const ports = maintenancePortsFromEnv(ops);

const isoTime = z.string().meta({ format: 'date-time' });
/** A window as it is stored (domain/maintenance.ts), with where it stands. */
const windowSchema = z
  .looseObject({
    windowId: z.string(),
    queue: z.string(),
    kind: z.enum(maintenanceKinds),
    startAt: isoTime,
    endAt: isoTime,
    cron: z.string().optional(),
    timezone: z.string(),
    durationMinutes: z.number(),
    note: z.string().optional(),
    createdAt: isoTime,
    createdBy: z.string().optional(),
    activeOccurrence: isoTime.optional().describe('While the queue is paused for it'),
    maintenanceJobId: z.string().optional(),
    history: z
      .array(
        z.looseObject({
          occurrence: isoTime,
          pausedAt: isoTime,
          resumedAt: isoTime.optional(),
          jobId: z.string().optional(),
        }),
      )
      .optional(),
    timerFor: isoTime.optional(),
    state: z.enum(['scheduled', 'active', 'completed']),
  })
  .meta({ id: 'MaintenanceWindow' });

const state = (w: MaintenanceWindow, now: Date) =>
  w.activeOccurrence ? 'active' : isWindowOver(w, now) ? 'completed' : 'scheduled';

const created = windowSchema.extend({
  started: z.boolean().describe('The window began: its queue is paused'),
});

const create = httpRoute(
  { body: maintenanceRequestSchema, responses: { 201: created } },
  async ({ body, event }) => {
    let window: MaintenanceWindow;
    const now = new Date();
    try {
      window = planWindow(body, now, `mw_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`);
    } catch (error) {
      if (error instanceof InvalidWindow) throw badRequest(error.code, error.message);
      throw error;
    }
    window = { ...window, createdBy: actorOf(event) };
    await ops.operations.putWindow(window);
    const outcomes = await maintenanceTick(ports, window.windowId);
    const stored = (await ops.operations.getWindow(window.windowId)) ?? window;
    return json(201, {
      ...stored,
      state: state(stored, new Date()),
      started: outcomes.some((o) => o.action === 'paused'),
    });
  },
);

const list = httpRoute({ responses: { 200: z.object({ windows: z.array(windowSchema) }) } }, async () => {
  const now = new Date();
  const windows = await ops.operations.windows();
  return json(200, { windows: windows.map((w) => ({ ...w, state: state(w, now) })) });
});

const remove = httpRoute(
  {
    path: z.object({ windowId: z.string().min(1).max(100) }),
    responses: { 204: { description: 'The window is gone; a queue it held takes work again' } },
  },
  async ({ path }) => {
    const window = await ops.operations.getWindow(path.windowId);
    if (!window) throw notFound('WINDOW_NOT_FOUND', `No maintenance window ${path.windowId}`);
    // Ending a window early hands the queue back to production.
    // (A queue an operator paused stays paused.)
    if (window.activeOccurrence && !(await ops.operations.pauses()).has(window.queue))
      await ops.scaling.setEnabled(window.queue, true);
    await ops.operations.deleteWindow(window.windowId);
    return { statusCode: 204, body: '' };
  },
);

export const handler = byRoute({
  'POST /factory/maintenance': create,
  'GET /factory/maintenance': list,
  'DELETE /factory/maintenance/{windowId}': remove,
});
