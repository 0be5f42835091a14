/**
 * JobQueries (functions/adapters/job-queries.ts) against a canned DynamoDB: a job queue's QUEUED
 * jobs have no listing entry, so they are read on `ready` — except the rows older than the live
 * counts, which the stats views ask for on every call and which predate that (they have one).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobQueries } from '../../functions/adapters/job-queries.ts';
import { type CannedCall, startCannedDynamo } from '../helpers/canned-dynamo.ts';

const calls: CannedCall[] = [];
let dynamoDb: Awaited<ReturnType<typeof startCannedDynamo>>;

/** The `ready` entries of default#normal, in index order, and their rows (all QUEUED). */
const entries = ['job_1', 'job_2', 'job_3'].map((jobId, i) => ({
  jobId: { S: jobId },
  readyKey: { S: 'default#normal' },
  readyRank: { S: `05#2026-12-06T10:00:0${i}.000Z#${jobId}` },
}));
/** Jobs whose rows are no longer QUEUED (taken since their entry was read). */
const running = new Set<string>();
const rowOf = (jobId: string) => ({
  jobId: { S: jobId },
  status: { S: running.has(jobId) ? 'RUNNING' : 'QUEUED' },
  type: { S: 'send_email' },
  priority: { N: '5' },
  createdAt: { S: '2026-12-06T10:00:00.000Z' },
});

function answer(call: CannedCall): unknown {
  const body = call.body as any;
  if (call.target.endsWith('.Query')) {
    if (body.ExclusiveStartKey?.jobId?.S === 'job_stale')
      return {
        httpStatus: 400,
        body: {
          __type: 'com.amazon.coral.validate#ValidationException',
          message: 'The provided starting key is invalid',
        },
      };
    const key = (body.ExpressionAttributeValues[':key'] ?? body.ExpressionAttributeValues[':partition'])?.S;
    if (body.IndexName !== 'ready' || key !== 'default#normal') return { Items: [] };
    const after = body.ExclusiveStartKey?.jobId?.S;
    const rest = after ? entries.slice(entries.findIndex((e) => e.jobId.S === after) + 1) : entries;
    const page = rest.slice(0, body.Limit);
    const last = page.at(-1);
    return { Items: page, ...(page.length < rest.length && last ? { LastEvaluatedKey: last } : {}) };
  }
  if (call.target.endsWith('.BatchGetItem'))
    return {
      Responses: { Jobs: body.RequestItems.Jobs.Keys.map((k: { jobId: { S: string } }) => rowOf(k.jobId.S)) },
    };
  return {};
}

beforeAll(async () => {
  dynamoDb = await startCannedDynamo((call) => {
    calls.push(call);
    return answer(call);
  });
});
afterAll(() => dynamoDb.close());
beforeEach(() => {
  calls.length = 0;
  running.clear();
});

const read = async (iterable: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};

describe('reading a job queue’s waiting jobs', () => {
  it('times the oldest waiting job by its rank, from when it became runnable, not by its runAt', async () => {
    // The canned rows' runAt is absent and the entries' ranks say 10:00:00, :01, :02; a job
    // released just now keeps an old runAt, and its rank says when it could start.
    const oldest = await new JobQueries('Jobs').oldestDue(
      'default',
      'normal',
      new Date('2026-12-06T10:05:00.000Z'),
    );
    expect(oldest).toBe('2026-12-06T10:00:00.000Z');
  });

  it('counts every QUEUED job on ready, fetching the rows', async () => {
    const rows = await read(new JobQueries('Jobs').inPartition('default', 'QUEUED', ['status', 'priority']));
    expect(rows).toEqual([1, 2, 3].map(() => ({ status: 'QUEUED', priority: 5 })));
    expect(calls.filter((c) => c.target.endsWith('.Query')).map((c) => c.body.IndexName)).toEqual([
      'ready',
      'ready',
      'ready',
    ]);
    expect(calls.some((c) => c.target.endsWith('.BatchGetItem'))).toBe(true);
  });

  it('reads the rows older than the counts from the listing index by its sort key: no walk of the backlog', async () => {
    const rows = await read(
      new JobQueries('Jobs').inPartition('default', 'QUEUED', ['status'], '2026-12-01T00:00:00.000Z'),
    );
    expect(rows).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.body).toMatchObject({
      IndexName: 'byQueueStatus',
      KeyConditionExpression: 'queueStatus = :partition AND #createdAt < :before',
    });
  });

  it('keeps a production line’s QUEUED steps on the listing index', async () => {
    await read(new JobQueries('Jobs').inPartition('assembly', 'QUEUED', ['status']));
    expect(calls.map((c) => c.body.IndexName)).toEqual(['byQueueStatus']);
  });

  it('lists them in run order, a page at a time, resuming after the last job a page showed', async () => {
    const queries = new JobQueries('Jobs');
    const first = await queries.list({ queues: ['default'], statuses: ['QUEUED'], limit: 2 });
    expect(first.jobs.map((j) => j.jobId)).toEqual(['job_1', 'job_2']);
    expect(first.nextCursor).not.toBeNull();
    calls.length = 0;
    const second = await queries.list({
      queues: ['default'],
      statuses: ['QUEUED'],
      limit: 2,
      cursor: first.nextCursor ?? undefined,
    });
    expect(second.jobs.map((j) => j.jobId)).toEqual(['job_3']);
    expect(second.nextCursor).toBeNull();
    // Resumed on `ready` right after job_2, with that entry's key.
    const resumed = calls[0]?.body as any;
    expect(resumed?.ExclusiveStartKey).toEqual(entries[1]);
  });

  it('reads more of a band once a read came back with entries of jobs no longer waiting', async () => {
    running.add('job_1');
    const page = await new JobQueries('Jobs').list({ queues: ['default'], statuses: ['QUEUED'], limit: 1 });
    expect(page.jobs.map((j) => j.jobId)).toEqual(['job_2']);
    const normal = calls.filter(
      (c) =>
        c.target.endsWith('.Query') &&
        (c.body as any).ExpressionAttributeValues[':partition'].S === 'default#normal',
    );
    expect(normal.map((c) => (c.body as any).Limit)).toEqual([1, 100]);
  });

  it('answers a cursor whose start key no longer fits its partition as an invalid cursor', async () => {
    const stale = Buffer.from(JSON.stringify({ p: 1, k: { jobId: 'job_stale' } })).toString('base64url');
    await expect(
      new JobQueries('Jobs').list({ queues: ['default'], statuses: ['QUEUED'], limit: 2, cursor: stale }),
    ).rejects.toMatchObject({ name: 'InvalidCursor' });
  });
});
