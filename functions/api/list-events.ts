/**
 * GET /events?after=&type=&queue=&jobId=&orderId=&limit= — recent events, oldest first
 * (domain/factory-events.ts): for clients that reconnect (pass the last page's `nextCursor` as
 * `after`) and for tests. Without `after`, a page starts at the job's or order's creation, or 15
 * minutes ago. Events settle for two seconds before they are listed; the WebSocket pushes them
 * at once.
 */

import { EventStore } from '#adapters/event-store';
import { StepJobStore } from '#adapters/job-engine-store';
import { OrderStore } from '#adapters/order-store';
import { eventPageSchema } from '#domain/api-responses';
import { eventFilterSchema, readEventPage } from '#domain/factory-events';
import { envInt, requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const store = new EventStore(requireEnv('EVENTS_TABLE'), envInt('EVENT_RETENTION_HOURS', 72));
const jobs = new StepJobStore(requireEnv('JOBS_TABLE'));
const orders = new OrderStore(requireEnv('ORDERS_TABLE'));

export const handler = httpRoute(
  { query: eventFilterSchema, responses: { 200: eventPageSchema } },
  async ({ query }) => {
    const page = await readEventPage(
      {
        publications: (minute, after) => store.publications(minute, after),
        createdAt: async ({ jobId, orderId }) =>
          jobId
            ? (await jobs.get(jobId))?.createdAt
            : orderId
              ? (await orders.get(orderId))?.createdAt
              : undefined,
      },
      query,
      new Date(),
      store.retentionMs,
    );
    return json(200, page);
  },
);
