/** GET /outbox?day=YYYY-MM-DD&limit=&cursor= — e-mails "delivered" by send_email jobs, per day. */
import * as z from 'zod';
import { OutboxStore } from '#adapters/outbox-store';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const outbox = new OutboxStore(requireEnv('OUTBOX_TABLE'), envInt('OUTBOX_RETENTION_DAYS', 30));

const outboxCursor = z.strictObject({ day: z.string(), mailId: z.string().min(1).max(500) });

/** A send_email job's mail, or an alert's notice (adapters/outbox-store.ts, OutboxMail). */
const mailSchema = z
  .looseObject({
    to: z.string(),
    cc: z.array(z.string()),
    subject: z.string(),
    body: z.string(),
    sentAt: z.string().meta({ format: 'date-time' }),
    jobId: z.string().optional(),
    from: z.string().optional(),
    mailId: z.string().optional(),
    alertId: z.string().optional(),
    ruleId: z.string().optional(),
    transition: z.enum(['fired', 'resolved']).optional(),
  })
  .meta({ id: 'OutboxMail' });

const outboxPageSchema = z
  .object({ day: z.string(), mails: z.array(mailSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'OutboxPage' });

export const handler = httpRoute(
  {
    query: z.object({
      day: z.iso.date().optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().min(1).max(2000).optional(),
    }),
    responses: { 200: outboxPageSchema },
  },
  async ({ query }) => {
    const day = query.day ?? new Date().toISOString().slice(0, 10);
    let start: Record<string, unknown> | undefined;
    if (query.cursor) {
      // Only a key of this day's partition is a cursor: anything else would reach DynamoDB as a
      // start key it refuses (a 500), found by the fuzz test.
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(query.cursor, 'base64url').toString());
      } catch {
        decoded = undefined;
      }
      const key = outboxCursor.safeParse(decoded);
      if (!key.success || key.data.day !== day)
        throw badRequest('INVALID_CURSOR', 'The cursor is not one this listing handed out');
      start = key.data;
    }
    const page = await outbox.list(day, query.limit, start);
    return json(200, {
      day,
      mails: page.mails,
      nextCursor: page.lastKey ? Buffer.from(JSON.stringify(page.lastKey)).toString('base64url') : null,
    });
  },
);
