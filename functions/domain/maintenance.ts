/**
 * Maintenance windows: a line or queue is paused (its event source mappings disabled: no new
 * job starts, running ones finish), a maintenance job runs with logs, and work resumes when the
 * window ends. One-off (startAt + endAt or durationMinutes) or recurring (cron + durationMinutes).
 */
import { Cron } from 'croner';
import * as z from 'zod';
import { allQueueNames } from './job-queues.ts';

export const maintenanceKinds = [
  'inspection',
  'calibration',
  'repair',
  'software_update',
  'cleaning',
] as const;

export const maintenanceRequestSchema = z
  .object({
    line: z.enum(allQueueNames as [string, ...string[]]).optional(),
    queue: z.enum(allQueueNames as [string, ...string[]]).optional(),
    startAt: z.iso.datetime({ offset: true }).optional(),
    endAt: z.iso.datetime({ offset: true }).optional(),
    durationMinutes: z
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .optional(),
    kind: z.enum(maintenanceKinds),
    cron: z.string().min(9).max(120).optional(),
    timezone: z.string().min(1).max(64).default('UTC'),
    note: z.string().max(500).optional(),
  })
  .strict()
  .refine((r) => (r.line === undefined) !== (r.queue === undefined), {
    message: 'Give exactly one of line or queue',
    path: ['line'],
  })
  .refine((r) => r.endAt === undefined || r.durationMinutes === undefined, {
    message: 'Give endAt or durationMinutes, not both',
    path: ['endAt'],
  })
  .refine(
    (r) =>
      r.cron
        ? r.durationMinutes !== undefined && r.endAt === undefined
        : r.endAt !== undefined || r.durationMinutes !== undefined,
    {
      message:
        'A one-off window needs endAt or durationMinutes; a recurring one (cron) needs durationMinutes',
      path: ['durationMinutes'],
    },
  );
export type MaintenanceRequest = z.infer<typeof maintenanceRequestSchema>;

export interface MaintenanceWindow {
  readonly windowId: string;
  readonly queue: string;
  readonly kind: (typeof maintenanceKinds)[number];
  readonly startAt: string;
  readonly endAt: string;
  readonly cron?: string;
  readonly timezone: string;
  readonly durationMinutes: number;
  readonly note?: string;
  readonly createdAt: string;
  /** The acting key that planned it ("<name> (key <id>)"). */
  readonly createdBy?: string;
  /** The occurrence in progress (startAt of it) while the queue is paused for it. */
  readonly activeOccurrence?: string;
  readonly maintenanceJobId?: string;
  readonly history?: readonly { occurrence: string; pausedAt: string; resumedAt?: string; jobId?: string }[];
  /** The transition (a startAt or endAt) a precise timer is armed for (domain/timers.ts). */
  readonly timerFor?: string;
}

/** When the window next changes the queue: its start while scheduled, its end while active. */
export function nextTransition(window: MaintenanceWindow, now: Date): Date | undefined {
  if (window.activeOccurrence) return new Date(window.endAt);
  if (isWindowOver(window, now)) return undefined;
  const start = new Date(window.startAt);
  return start.getTime() > now.getTime() ? start : undefined;
}

export class InvalidWindow extends Error {
  override readonly name = 'InvalidWindow';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function planWindow(request: MaintenanceRequest, now: Date, windowId: string): MaintenanceWindow {
  const queue = (request.line ?? request.queue) as string;
  let startAt: Date;
  if (request.cron) {
    let next: Date | null;
    try {
      next = new Cron(request.cron, { timezone: request.timezone, paused: true }).nextRun(
        request.startAt ? new Date(request.startAt) : now,
      );
    } catch (error) {
      throw new InvalidWindow(
        'INVALID_CRON',
        `"${request.cron}" is not a valid cron expression: ${(error as Error).message}`,
      );
    }
    if (!next) throw new InvalidWindow('INVALID_CRON', `"${request.cron}" never fires`);
    startAt = next;
  } else {
    startAt = request.startAt ? new Date(request.startAt) : now;
  }
  const durationMinutes =
    request.durationMinutes ?? Math.round((Date.parse(request.endAt as string) - startAt.getTime()) / 60_000);
  const endAt = request.endAt
    ? new Date(request.endAt)
    : new Date(startAt.getTime() + durationMinutes * 60_000);
  if (endAt.getTime() <= startAt.getTime())
    throw new InvalidWindow('INVALID_WINDOW', 'The window ends before it starts');
  if (!request.cron && endAt.getTime() <= now.getTime())
    throw new InvalidWindow('INVALID_WINDOW', 'The window is already over');
  return {
    windowId,
    queue,
    kind: request.kind,
    startAt: startAt.toISOString(),
    endAt: endAt.toISOString(),
    ...(request.cron ? { cron: request.cron } : {}),
    timezone: request.timezone,
    durationMinutes: Math.max(1, durationMinutes),
    ...(request.note ? { note: request.note } : {}),
    createdAt: now.toISOString(),
  };
}

export type WindowAction =
  | { readonly kind: 'pause'; readonly occurrence: string }
  | { readonly kind: 'resume'; readonly next?: { startAt: string; endAt: string } }
  | { readonly kind: 'none' };

/** What the ticker does with a window at `now`. */
export function windowAction(window: MaintenanceWindow, now: Date): WindowAction {
  const t = now.getTime();
  const inWindow = Date.parse(window.startAt) <= t && t < Date.parse(window.endAt);
  if (inWindow && !window.activeOccurrence) return { kind: 'pause', occurrence: window.startAt };
  if (!inWindow && window.activeOccurrence) {
    if (!window.cron) return { kind: 'resume' };
    const next = new Cron(window.cron, { timezone: window.timezone, paused: true }).nextRun(
      new Date(Math.max(t, Date.parse(window.endAt))),
    );
    return {
      kind: 'resume',
      ...(next
        ? {
            next: {
              startAt: next.toISOString(),
              endAt: new Date(next.getTime() + window.durationMinutes * 60_000).toISOString(),
            },
          }
        : {}),
    };
  }
  return { kind: 'none' };
}

export const isWindowOver = (window: MaintenanceWindow, now: Date) =>
  !window.cron && !window.activeOccurrence && Date.parse(window.endAt) <= now.getTime();
