/**
 * POST /dlq/retry — bulk redrive: `{jobIds}` or a filter `{queue?, type?, errorContains?, limit?}`.
 * Reports how many matched and were retried, and why any were skipped.
 */
import { z } from 'zod';
import { retryPortsFromEnv } from '#adapters/job-engine';
import { allQueueNames } from '#domain/job-queues';
import { retryJob } from '#domain/job-retry';
import type { JobRecord } from '#domain/jobs';
import { mapLimit } from '#shared/concurrency';
import { httpRoute, json } from '#shared/http';
import { badRequest } from '#shared/http-errors';

const ports = retryPortsFromEnv();

const redriveSchema = z.union([
  z.object({ jobIds: z.array(z.string().min(1).max(200)).min(1).max(1000) }).strict(),
  z
    .object({
      queue: z.enum(allQueueNames as [string, ...string[]]).optional(),
      type: z.string().min(1).max(64).optional(),
      errorContains: z.string().min(1).max(200).optional(),
      /** Retrying every dead job is asked for explicitly, never by an empty body. */
      all: z.literal(true).optional(),
      limit: z.int().min(1).max(1000).default(500),
    })
    .strict(),
]);

export const handler = httpRoute({ body: redriveSchema }, async ({ body }) => {
  if (!('jobIds' in body) && !body.queue && !body.type && !body.errorContains && !body.all) {
    throw badRequest(
      'CONFIRMATION_REQUIRED',
      'This would retry every dead job: narrow it (jobIds, queue, type, errorContains) or confirm with "all": true',
    );
  }
  let jobs: JobRecord[];
  const skipped: { jobId: string; reason: string }[] = [];
  if ('jobIds' in body) {
    const found = await ports.store.getMany(body.jobIds);
    jobs = [];
    for (const id of new Set(body.jobIds)) {
      const job = found.get(id);
      if (!job) skipped.push({ jobId: id, reason: 'not found' });
      else if (job.status !== 'DEAD' || job.discardedAt)
        skipped.push({ jobId: id, reason: `not in the dead-letter queue (${job.status})` });
      else jobs.push(job);
    }
  } else {
    jobs = [];
    let cursor: string | undefined;
    do {
      const page = await ports.queries.list({
        queues: body.queue ? [body.queue] : allQueueNames,
        statuses: ['DEAD'],
        type: body.type,
        errorContains: body.errorContains,
        limit: Math.min(200, body.limit - jobs.length),
        cursor,
      });
      jobs.push(...page.jobs);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && jobs.length < body.limit);
  }
  // Steps of one order resume together: retry them one order at a time.
  const seenOrders = new Set<string>();
  const retried: string[] = [];
  await mapLimit(jobs, 10, async (job) => {
    if (job.kind === 'step' && job.orderId) {
      if (seenOrders.has(job.orderId)) {
        retried.push(job.jobId);
        return;
      }
      seenOrders.add(job.orderId);
    }
    const outcome = await retryJob(job, ports);
    if (outcome.kind === 'retried') retried.push(job.jobId);
    else skipped.push({ jobId: job.jobId, reason: outcome.message });
  });
  return json(202, {
    matched: jobs.length + skipped.filter((s) => s.reason !== 'not found').length,
    retried: retried.length,
    jobIds: retried,
    skipped,
  });
});
