import * as z from 'zod';
import { defineJobType } from './job-type.ts';

/** Holds a message for `holdMs`, then delivers it as the result: timers, demos, long jobs in tests. */
export const delayedMessage = defineJobType({
  name: 'delayed_message',
  description: 'Delivers a message after an optional hold; the hold also makes a long-running job.',
  payload: z
    .object({
      message: z.string().min(1).max(10_000),
      holdMs: z.int().min(0).max(600_000).default(0),
    })
    .strict(),
  defaults: { maxAttempts: 3, timeoutMs: 60_000 },
  async run(payload, context) {
    if (payload.holdMs > 0) await context.sleep(payload.holdMs, context.signal);
    return { message: payload.message, deliveredAt: context.now().toISOString() };
  },
});
