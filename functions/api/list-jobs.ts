/** GET /jobs?queue=&status=&type=&limit=&cursor= — jobs of both kinds, newest first, paginated. */
import { JobQueries } from '#adapters/job-queries';
import { jobPageSchema } from '#domain/api-responses';
import { listingQuerySchema } from '#domain/job-listing';
import { allQueueNames } from '#domain/job-queues';
import { jobStatuses } from '#domain/jobs';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));

export const handler = httpRoute(
  { query: listingQuerySchema, responses: { 200: jobPageSchema } },
  async ({ query }) => {
    const page = await queries
      .list({
        queues: query.queue ? [query.queue] : allQueueNames,
        statuses: query.status ? [query.status] : jobStatuses,
        type: query.type,
        limit: query.limit,
        cursor: query.cursor,
      })
      .catch(rejectedAsHttp);
    return json(200, { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor });
  },
);
