/** GET /queues — every queue, the job types it takes and its concurrency per priority band. */
import { describeQueues } from '#domain/job-queues';
import { httpRoute, json } from '#shared/http';

export const handler = httpRoute({}, async () => json(200, describeQueues()));
