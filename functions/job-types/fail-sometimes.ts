import * as z from 'zod';
import { defineJobType } from './job-type.ts';

/** Fails each attempt with the given probability: exercises retries, backoff and the DLQ. */
export const failSometimes = defineJobType({
  name: 'fail_sometimes',
  description: 'Fails an attempt with probability `probability` after working for `workMs`.',
  payload: z
    .object({
      probability: z.number().min(0).max(1),
      workMs: z.int().min(0).max(600_000).default(0),
      /** The error an unlucky attempt throws (default: the roll), e.g. to stand for one error class. */
      message: z.string().min(1).max(200).optional(),
    })
    .strict(),
  defaults: { maxAttempts: 3, timeoutMs: 60_000 },
  async run(payload, context) {
    if (payload.workMs > 0) await context.sleep(payload.workMs, context.signal);
    const roll = context.random();
    if (roll < payload.probability) {
      throw new Error(
        payload.message ??
          `Unlucky attempt ${context.attempt}: rolled ${roll.toFixed(3)} < ${payload.probability}`,
      );
    }
    return { roll, attempt: context.attempt };
  },
});
