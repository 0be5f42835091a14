/** GET /outbox?day=YYYY-MM-DD&limit=&cursor= — e-mails "delivered" by send_email jobs, per day. */
import { z } from 'zod';
import { OutboxStore } from '#adapters/outbox-store';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const outbox = new OutboxStore(requireEnv('OUTBOX_TABLE'), envInt('OUTBOX_RETENTION_DAYS', 30));

export const handler = httpRoute(
  {
    query: z.object({
      day: z.iso.date().optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().min(1).max(2000).optional(),
    }),
  },
  async ({ query }) => {
    const day = query.day ?? new Date().toISOString().slice(0, 10);
    let start: Record<string, unknown> | undefined;
    if (query.cursor) {
      try {
        start = JSON.parse(Buffer.from(query.cursor, 'base64url').toString());
      } catch {
        throw badRequest('INVALID_CURSOR', 'The cursor is not one this listing handed out');
      }
    }
    const page = await outbox.list(day, query.limit, start);
    return json(200, {
      day,
      mails: page.mails,
      nextCursor: page.lastKey ? Buffer.from(JSON.stringify(page.lastKey)).toString('base64url') : null,
    });
  },
);
