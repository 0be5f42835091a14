/** Query-string schemas shared by the listing endpoints. */
import * as z from 'zod';
import { allQueueNames } from './job-queues.ts';
import { jobStatuses } from './jobs.ts';

const queueName = z.enum(allQueueNames as [string, ...string[]]);

export const pageSchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(2000).optional(),
});

export const listingQuerySchema = pageSchema.extend({
  queue: queueName.optional(),
  status: z.enum(jobStatuses).optional(),
  type: z.string().min(1).max(64).optional(),
});

export const deadJobFilterSchema = z.object({
  queue: queueName.optional(),
  type: z.string().min(1).max(64).optional(),
  errorContains: z.string().min(1).max(200).optional(),
});

export const queueFilterSchema = z.object({ queue: queueName.optional() });

/** The counts' views (GET /jobs/stats, /jobs/queue): `exact=true` recounts every row. */
export const countsQuerySchema = queueFilterSchema.extend({
  exact: z.stringbool().default(false),
});
