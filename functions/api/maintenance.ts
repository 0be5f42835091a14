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
  maintenanceRequestSchema,
  planWindow,
} from '#domain/maintenance';
import { maintenanceTick } from '#domain/maintenance-tick';
import { actorOf, byRoute, httpRoute, json } from '#shared/http';
import { badRequest, notFound } from '#shared/http-errors';

const ops = operationsFromEnv();
const ports = maintenancePortsFromEnv(ops);

const state = (w: MaintenanceWindow, now: Date) =>
  w.activeOccurrence ? 'active' : isWindowOver(w, now) ? 'completed' : 'scheduled';

const create = httpRoute({ body: maintenanceRequestSchema }, async ({ body, event }) => {
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
});

const list = httpRoute({}, async () => {
  const now = new Date();
  const windows = await ops.operations.windows();
  return json(200, { windows: windows.map((w) => ({ ...w, state: state(w, now) })) });
});

const remove = httpRoute({ path: z.object({ windowId: z.string().min(1).max(100) }) }, async ({ path }) => {
  const window = await ops.operations.getWindow(path.windowId);
  if (!window) throw notFound('WINDOW_NOT_FOUND', `No maintenance window ${path.windowId}`);
  // Ending a window early hands the queue back to production.
  // (A queue an operator paused stays paused.)
  if (window.activeOccurrence && !(await ops.operations.pauses()).has(window.queue))
    await ops.scaling.setEnabled(window.queue, true);
  await ops.operations.deleteWindow(window.windowId);
  return { statusCode: 204, body: '' };
});

export const handler = byRoute({
  'POST /factory/maintenance': create,
  'GET /factory/maintenance': list,
  'DELETE /factory/maintenance/{windowId}': remove,
});
