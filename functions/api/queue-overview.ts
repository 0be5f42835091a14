/**
 * GET /jobs/queue?queue=&exact= — per queue and priority band: waiting, delayed, blocked, running,
 * dead, oldest wait, and whether an operator paused it. The counts come from the live counts (domain/job-counts.ts); the oldest wait
 * is one read per priority of a band that has waiting jobs.
 */
import { JobCountsStore, jobCounting } from '#adapters/job-counts-store';
import { JobQueries } from '#adapters/job-queries';
import { OperationsStore } from '#adapters/operations-store';
import { bandCountsOf, countJobs } from '#domain/job-counts';
import { countsQuerySchema } from '#domain/job-listing';
import { type BandCounts, emptyBand } from '#domain/job-overview';
import { allQueueNames, bandNames, isProductionLine } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
const counting = jobCounting(queries, new JobCountsStore(requireEnv('METRICS_TABLE')));

export const handler = httpRoute({ query: countsQuerySchema }, async ({ query }) => {
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
});
