/** GET /dlq/export?queue=&type=&errorContains= — the dead-letter queue as CSV (up to 10,000 rows). */
import * as z from 'zod';
import { JobQueries } from '#adapters/job-queries';
import { deadJobFilterSchema } from '#domain/job-listing';
import { allQueueNames } from '#domain/job-queues';
import type { JobRecord } from '#domain/jobs';
import { requireEnv } from '#shared/env';
import { httpRoute } from '#shared/http';
import { jobView } from './job-view.ts';

const queries = new JobQueries(requireEnv('JOBS_TABLE'));
const maxRows = 10_000;
const columns = [
  'jobId',
  'kind',
  'queue',
  'type',
  'priority',
  'attempts',
  'maxAttempts',
  'createdAt',
  'deadAt',
  'orderId',
  'error',
  'payload',
] as const;

/** RFC 4180: quote every field, double the quotes inside. */
const cell = (value: unknown) =>
  `"${(value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value)).replaceAll('"', '""')}"`;

const row = (job: JobRecord) => {
  // The export shows what GET /jobs/{id} shows: secrets redacted.
  const view = jobView(job) as Record<string, unknown>;
  return columns.map((c) => cell(c === 'deadAt' ? (job.deadAt ?? job.updatedAt) : view[c])).join(',');
};

const csv = {
  description: `The dead jobs as CSV (RFC 4180, every field quoted), up to ${maxRows} rows: ${columns.join(', ')}`,
  contentType: 'text/csv',
  schema: z.string(),
};

export const handler = httpRoute(
  { query: deadJobFilterSchema, responses: { 200: csv } },
  async ({ query }) => {
    const lines = [columns.join(',')];
    let cursor: string | undefined;
    do {
      const page = await queries.list({
        queues: query.queue ? [query.queue] : allQueueNames,
        statuses: ['DEAD'],
        type: query.type,
        errorContains: query.errorContains,
        limit: 200,
        cursor,
      });
      lines.push(...page.jobs.map(row));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && lines.length <= maxRows);
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="dead-jobs-${new Date().toISOString().slice(0, 10)}.csv"`,
      },
      body: `${lines.slice(0, maxRows + 1).join('\r\n')}\r\n`,
    };
  },
);
