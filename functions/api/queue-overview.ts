/** GET /jobs/queue?queue= — per queue and priority band: waiting, delayed, blocked, running, dead, oldest wait. */
import { JobQueries } from '#adapters/job-queries';
import { queueFilterSchema } from '#domain/job-listing';
import { type JobFacts, liveStatuses, tallyBands } from '#domain/job-overview';
import { allQueueNames, bandOf, isProductionLine } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const projection = ['status', 'priority', 'runAt', 'createdAt', 'updatedAt', 'waitingOn'];

export const handler = httpRoute({ query: queueFilterSchema }, async ({ query }) => {
  const now = Date.now();
  const names = query.queue ? [query.queue] : allQueueNames;
  const queues = await Promise.all(
    names.map(async (name) => {
      const facts: JobFacts[] = [];
      for (const status of liveStatuses) {
        for await (const job of queries.inPartition(name, status, projection)) facts.push(job as JobFacts);
      }
      const bands = tallyBands(facts, now);
      // Dead jobs are counted per band from their rows too: the DLQ is small by design (TTL).
      for await (const job of queries.inPartition(name, 'DEAD', ['priority']))
        bands[bandOf(job.priority ?? 5)].dead++;
      const total = Object.values(bands).reduce(
        (sum, b) => ({
          waiting: sum.waiting + b.waiting,
          delayed: sum.delayed + b.delayed,
          blocked: sum.blocked + b.blocked,
          running: sum.running + b.running,
          dead: sum.dead + b.dead,
          oldestWaitingAgeMs:
            Math.max(sum.oldestWaitingAgeMs ?? 0, b.oldestWaitingAgeMs ?? 0) ||
            (sum.oldestWaitingAgeMs ?? b.oldestWaitingAgeMs),
        }),
        {
          waiting: 0,
          delayed: 0,
          blocked: 0,
          running: 0,
          dead: 0,
          oldestWaitingAgeMs: null as number | null,
        },
      );
      return { queue: name, kind: isProductionLine(name) ? 'production-line' : 'job-queue', ...total, bands };
    }),
  );
  return json(200, { at: new Date(now).toISOString(), queues });
});
