import * as z from 'zod';
import { defineJobType, withAlias } from './job-type.ts';

/**
 * "Delivers" an e-mail by recording it in the outbox table (GET /outbox lists it); a real mail
 * provider would replace the outbox port. The outbox row is keyed by job id, so a retried or
 * duplicated attempt re-records the same mail instead of sending it twice.
 */
export const sendEmail = defineJobType({
  name: 'send_email',
  description: 'Validates and delivers an e-mail to the outbox.',
  payload: z.preprocess(
    // Seed 003 calls the text `content`.
    (raw) => withAlias(raw, 'content', 'body'),
    z
      .object({
        to: z.email(),
        from: z.email().optional(),
        cc: z.array(z.email()).max(20).default([]),
        subject: z.string().min(1).max(200),
        body: z.string().min(1).max(50_000),
      })
      .strict(),
  ),
  defaults: { maxAttempts: 5, timeoutMs: 30_000, backoff: { type: 'exponential', delayMs: 2000 } },
  async run(payload, context) {
    const sentAt = context.now().toISOString();
    await context.outbox.deliver({ jobId: context.jobId, ...payload, sentAt });
    await context.log('INFO', `E-mail "${payload.subject}" delivered to ${payload.to}`);
    return { deliveredTo: [payload.to, ...payload.cc], subject: payload.subject, sentAt };
  },
});
