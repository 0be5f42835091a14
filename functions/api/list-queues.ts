/** GET /queues — every queue, the job types it takes, its concurrency per priority band, its rate limit and whether an operator paused it. */
import { OperationsStore } from '#adapters/operations-store';
import { describeQueues } from '#domain/job-queues';
import { requireEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));

export const handler = httpRoute({}, async () => {
  const [limits, pauses] = await Promise.all([operations.rateLimits(), operations.pauses()]);
  return json(
    200,
    describeQueues().map((q) => {
      const pause = pauses.get(q.name);
      return {
        ...q,
        rateLimit: limits[q.name] ?? null,
        paused: pause !== undefined,
        ...(pause
          ? { pausedAt: pause.pausedAt, pausedBy: pause.pausedBy, pauseReason: pause.reason ?? null }
          : {}),
      };
    }),
  );
});
