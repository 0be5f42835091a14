/**
 * GET /jobs/stats?queue=&exact= — job counts by state: waiting, active, completed, failed, dead,
 * delayed, blocked, cancelled. Read from the live counts (domain/job-counts.ts), a few items
 * whatever the backlog; `exact=true` recounts every row instead.
 */
import { JobCountsStore, jobCounting } from '#adapters/job-counts-store';
import { JobQueries } from '#adapters/job-queries';
import { countJobs, emptyStats, statsOf } from '#domain/job-counts';
import { countsQuerySchema } from '#domain/job-listing';
import { allQueueNames } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const counting = jobCounting(
  new JobQueries(requireEnv('JOBS_TABLE')),
  new JobCountsStore(requireEnv('METRICS_TABLE')),
);

export const handler = httpRoute({ query: countsQuerySchema }, async ({ query }) => {
  const now = new Date();
  const names = query.queue ? [query.queue] : allQueueNames;
  const tally = await countJobs(counting, names, now, query.exact);
  const totals = emptyStats();
  const queues = names.map((queue) => {
    const stats = statsOf(tally, queue);
    for (const [k, v] of Object.entries(stats)) totals[k as keyof typeof totals] += v;
    return { queue, ...stats };
  });
  return json(200, { at: now.toISOString(), ...totals, queues });
});
