/**
 * Precise timers for time-driven work (cron occurrences, maintenance windows starting and
 * ending). The minute sweeps would act up to a minute late; instead, whatever is due within the
 * next 14 minutes is armed as a delayed message on the timers queue (SQS delays stop at 15
 * minutes), delivered a moment early and waited out to the millisecond by the timer function.
 * The sweeps stay as the safety net: a lost timer makes an action late, never missing, and every
 * action is a compare-and-set, so one that runs twice acts once.
 */
import * as z from 'zod';

/** How far ahead a timer is armed. */
export const timerHorizonMs = 14 * 60_000;
/** Delivered this much early, so that a slow poll still leaves time to wait to the exact moment. */
export const timerLeadMs = 2_000;

export const timerMessageSchema = z.object({
  kind: z.enum(['maintenance', 'schedule']),
  /** The window or schedule. */
  id: z.string().min(1),
  /** When it is due (ISO). */
  at: z.iso.datetime({ offset: true }),
});
export type TimerMessage = z.infer<typeof timerMessageSchema>;

export interface TimerPort {
  arm(timer: TimerMessage): Promise<void>;
}

export const withinHorizon = (at: Date, now: Date): boolean => at.getTime() - now.getTime() <= timerHorizonMs;

/** The SQS delay that delivers a timer a little before it is due. */
export const timerDelaySeconds = (at: Date, now: Date): number =>
  Math.min(900, Math.max(0, Math.floor((at.getTime() - now.getTime() - timerLeadMs) / 1000)));
