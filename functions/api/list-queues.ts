/** GET /queues — every queue, the job types it takes, its concurrency per priority band and its rate limit. */
import { OperationsStore } from '#adapters/operations-store';
import { describeQueues } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));

export const handler = httpRoute({}, async () => {
  const limits = await operations.rateLimits();
  return json(
    200,
    describeQueues().map((q) => ({ ...q, rateLimit: limits[q.name] ?? null })),
  );
});
