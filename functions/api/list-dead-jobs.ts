/** GET /dlq?queue=&type=&errorContains=&limit=&cursor= — the dead-letter queue: DEAD jobs of both kinds. */
import { JobQueries } from '#adapters/job-queries';
import { deadJobFilterSchema, pageSchema } from '#domain/job-listing';
import { allQueueNames } from '#domain/job-queues';

import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));

export const handler = httpRoute(
  {
    query: deadJobFilterSchema.extend(pageSchema.shape),
  },
  async ({ query }) => {
    const page = await queries
      .list({
        queues: query.queue ? [query.queue] : allQueueNames,
        statuses: ['DEAD'],
        type: query.type,
        errorContains: query.errorContains,
        limit: query.limit,
        cursor: query.cursor,
      })
      .catch(rejectedAsHttp);
    return json(200, { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor });
  },
);
