/**
 * POST /dlq/retry: which dead jobs a bulk redrive takes, and the redrive itself. By ids, each id
 * is checked (unknown, not in the dead-letter queue); by filter, the listing's pages are read up
 * to the limit. Dead steps of one robot order resume together, so an order is retried once and
 * all of its listed steps count as retried.
 */
import { mapLimit } from '#shared/concurrency';
import type { RetryOutcome, RetryPorts } from './job-retry.ts';
import type { JobRecord } from './jobs.ts';

export type RedriveSelection =
  | { readonly jobIds: readonly string[] }
  | {
      readonly queues: readonly string[];
      readonly type?: string;
      readonly errorContains?: string;
      readonly limit: number;
    };

export interface RedrivePorts extends RetryPorts {
  readonly store: RetryPorts['store'] & {
    getMany(jobIds: readonly string[]): Promise<Map<string, JobRecord>>;
  };
  readonly queries: {
    list(filter: {
      queues: readonly string[];
      statuses: readonly 'DEAD'[];
      type?: string;
      errorContains?: string;
      limit: number;
      cursor?: string;
    }): Promise<{ jobs: JobRecord[]; nextCursor: string | null }>;
  };
}

export interface Skipped {
  readonly jobId: string;
  readonly reason: string;
}

/** The dead jobs a redrive takes, and the ids it cannot take with the reason. */
export async function selectDeadJobs(
  selection: RedriveSelection,
  ports: Pick<RedrivePorts, 'store' | 'queries'>,
): Promise<{ jobs: JobRecord[]; skipped: Skipped[] }> {
  const jobs: JobRecord[] = [];
  const skipped: Skipped[] = [];
  if ('jobIds' in selection) {
    const found = await ports.store.getMany(selection.jobIds);
    for (const id of new Set(selection.jobIds)) {
      const job = found.get(id);
      if (!job) skipped.push({ jobId: id, reason: 'not found' });
      else if (job.status !== 'DEAD' || job.discardedAt)
        skipped.push({ jobId: id, reason: `not in the dead-letter queue (${job.status})` });
      else jobs.push(job);
    }
    return { jobs, skipped };
  }
  let cursor: string | undefined;
  do {
    const page = await ports.queries.list({
      queues: selection.queues,
      statuses: ['DEAD'],
      ...(selection.type ? { type: selection.type } : {}),
      ...(selection.errorContains ? { errorContains: selection.errorContains } : {}),
      limit: Math.min(200, selection.limit - jobs.length),
      ...(cursor ? { cursor } : {}),
    });
    jobs.push(...page.jobs);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && jobs.length < selection.limit);
  return { jobs: jobs.slice(0, selection.limit), skipped };
}

/** Retries the selected jobs (`retry`: job-retry.ts's retryJob with its ports), one order at a time for robot steps. */
export async function redriveDeadJobs(
  jobs: readonly JobRecord[],
  retry: (job: JobRecord) => Promise<RetryOutcome>,
): Promise<{ retried: string[]; skipped: Skipped[] }> {
  const seenOrders = new Set<string>();
  const retried: string[] = [];
  const skipped: Skipped[] = [];
  await mapLimit(jobs, 10, async (job) => {
    if (job.kind === 'step' && job.orderId) {
      if (seenOrders.has(job.orderId)) {
        retried.push(job.jobId);
        return;
      }
      seenOrders.add(job.orderId);
    }
    const outcome = await retry(job);
    if (outcome.kind === 'retried') retried.push(job.jobId);
    else skipped.push({ jobId: job.jobId, reason: outcome.message });
  });
  return { retried, skipped };
}
