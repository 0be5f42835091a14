/** GET /jobs/stats?queue= — job counts by state: waiting, active, completed, failed, dead, delayed, blocked, cancelled. */
import { JobQueries } from '#adapters/job-queries';
import { queueFilterSchema } from '#domain/job-listing';
import { classify, type JobFacts } from '#domain/job-overview';
import { allQueueNames } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const emptyCounts = () => ({
  waiting: 0,
  active: 0,
  completed: 0,
  failed: 0,
  dead: 0,
  delayed: 0,
  blocked: 0,
  cancelled: 0,
});

export const handler = httpRoute({ query: queueFilterSchema }, async ({ query }) => {
  const now = Date.now();
  const names = query.queue ? [query.queue] : allQueueNames;
  const totals = emptyCounts();
  const perQueue = await Promise.all(
    names.map(async (queue) => {
      const counts = emptyCounts();
      const [completed, dead, cancelled] = await Promise.all([
        queries.count(queue, 'COMPLETED'),
        queries.count(queue, 'DEAD'),
        queries.count(queue, 'CANCELLED'),
      ]);
      Object.assign(counts, { completed, dead, cancelled });
      for (const status of ['QUEUED', 'PENDING', 'RETRYING', 'RUNNING'] as const) {
        for await (const job of queries.inPartition(queue, status, [
          'status',
          'runAt',
          'waitingOn',
          'priority',
          'createdAt',
        ])) {
          const kind = classify(job as JobFacts, now);
          counts[kind === 'running' ? 'active' : kind]++;
        }
      }
      // FAILED: an attempt failed and a retry is scheduled.
      counts.failed = await queries.count(queue, 'FAILED');
      for (const [k, v] of Object.entries(counts)) totals[k as keyof typeof totals] += v;
      return { queue, ...counts };
    }),
  );
  return json(200, { at: new Date(now).toISOString(), ...totals, queues: perQueue });
});
