/**
 * GET /dlq?queue=&type=&errorContains=&limit=&cursor= — the dead-letter queue: DEAD jobs of both
 * kinds. GET /dlq/causes?queue=&type= — the same jobs grouped by error class (the newest
 * 10,000 at most), with counts, first and last seen, affected types and a sample.
 */
import { JobQueries } from '#adapters/job-queries';
import { deadLetterCausesSchema, jobPageSchema } from '#domain/api-responses';
import { type DeadJobFacts, deadLetterCauses } from '#domain/error-classes';
import { deadJobFilterSchema, pageSchema } from '#domain/job-listing';
import { allQueueNames } from '#domain/job-queues';

import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';
import { rejectedAsHttp } from '#shared/http-errors';
import { jobView } from './job-view.ts';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));

const maxJobs = 10_000;

const list = httpRoute(
  {
    query: deadJobFilterSchema.extend(pageSchema.shape),
    responses: { 200: jobPageSchema },
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

const causes = httpRoute(
  { query: deadJobFilterSchema.omit({ errorContains: true }), responses: { 200: deadLetterCausesSchema } },
  async ({ query }) => {
    const jobs: DeadJobFacts[] = [];
    let cursor: string | undefined;
    do {
      const page = await queries
        .list({
          queues: query.queue ? [query.queue] : allQueueNames,
          statuses: ['DEAD'],
          type: query.type,
          limit: 500,
          cursor,
        })
        .catch(rejectedAsHttp);
      // The view names the error as every listing shows it.
      jobs.push(...(page.jobs.map(jobView) as DeadJobFacts[]));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && jobs.length < maxJobs);
    return json(200, {
      at: new Date().toISOString(),
      jobs: jobs.length,
      truncated: Boolean(cursor),
      causes: deadLetterCauses(jobs),
    });
  },
);

export const handler = byRoute({ 'GET /dlq': list, 'GET /dlq/causes': causes });
