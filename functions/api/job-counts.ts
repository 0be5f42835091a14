/**
 * The counts' views, read from the live counts (domain/job-counts.ts): a few items whatever the
 * backlog; `exact=true` recounts every row instead.
 * - GET /jobs/stats?queue=&exact= — job counts by state: waiting, active, completed, failed,
 *   dead, delayed, blocked, cancelled.
 * - GET /jobs/queue?queue=&exact= — per queue and priority band: waiting, delayed, blocked,
 *   running, dead, the oldest wait (one read per priority of a band that has waiting jobs), and
 *   whether an operator paused the queue.
 */
import { JobCountsStore, jobCounting } from '#adapters/job-counts-store';
import { JobQueries } from '#adapters/job-queries';
import { OperationsStore } from '#adapters/operations-store';
import { jobStatsSchema, queueOverviewSchema } from '#domain/api-responses';
import { bandCountsOf, countJobs, emptyStats, statsOf } from '#domain/job-counts';
import { countsQuerySchema } from '#domain/job-listing';
import { type BandCounts, emptyBand } from '#domain/job-overview';
import { allQueueNames, bandNames, isProductionLine } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { byRoute, httpRoute, json } from '#shared/http';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const counting = jobCounting(queries, new JobCountsStore(requireEnv('METRICS_TABLE')));
const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));

const stats = httpRoute(
  { query: countsQuerySchema, responses: { 200: jobStatsSchema } },
  async ({ query }) => {
    const now = new Date();
    const names = query.queue ? [query.queue] : allQueueNames;
    const tally = await countJobs(counting, names, now, query.exact);
    const totals = emptyStats();
    const queues = names.map((queue) => {
      const counts = statsOf(tally, queue);
      for (const [k, v] of Object.entries(counts)) totals[k as keyof typeof totals] += v;
      return { queue, ...counts };
    });
    return json(200, { at: now.toISOString(), ...totals, queues });
  },
);

const overview = httpRoute(
  { query: countsQuerySchema, responses: { 200: queueOverviewSchema } },
  async ({ query }) => {
    const now = new Date();
    const names = query.queue ? [query.queue] : allQueueNames;
    const [tally, pauses] = await Promise.all([
      countJobs(counting, names, now, query.exact),
      operations.pauses(),
    ]);
    const queues = await Promise.all(
      names.map(async (name) => {
        const bands = bandCountsOf(tally, name);
        await Promise.all(
          bandNames
            .filter((band) => bands[band].waiting > 0)
            .map(async (band) => {
              const since = await queries.oldestDue(name, band, now);
              bands[band].oldestWaitingAgeMs = since ? Math.max(0, now.getTime() - Date.parse(since)) : null;
            }),
        );
        const total: BandCounts = emptyBand();
        for (const band of Object.values(bands)) {
          total.waiting += band.waiting;
          total.delayed += band.delayed;
          total.blocked += band.blocked;
          total.running += band.running;
          total.dead += band.dead;
          if (band.oldestWaitingAgeMs !== null)
            total.oldestWaitingAgeMs = Math.max(total.oldestWaitingAgeMs ?? 0, band.oldestWaitingAgeMs);
        }
        return {
          queue: name,
          kind: isProductionLine(name) ? 'production-line' : 'job-queue',
          paused: pauses.has(name),
          ...total,
          bands,
        };
      }),
    );
    return json(200, { at: now.toISOString(), queues });
  },
);

export const handler = byRoute({ 'GET /jobs/stats': stats, 'GET /jobs/queue': overview });
