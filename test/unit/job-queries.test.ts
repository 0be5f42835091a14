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

beforeAll(async () => {
  dynamoDb = await startCannedDynamo((call) => {
    calls.push(call);
    if (call.target.endsWith('.Query'))
      return call.body.IndexName === 'ready' &&
        (call.body.ExpressionAttributeValues as any)[':key'].S === 'default#normal'
        ? {
            Items: [
              { jobId: { S: 'job_a' }, readyKey: { S: 'default#normal' }, readyRank: { S: '05#t#job_a' } },
            ],
          }
        : { Items: [] };
    if (call.target.endsWith('.BatchGetItem'))
      return {
        Responses: {
          Jobs: [
            {
              jobId: { S: 'job_a' },
              status: { S: 'QUEUED' },
              priority: { N: '5' },
              createdAt: { S: '2026-12-06T10:00:00.000Z' },
            },
          ],
        },
      };
    return {};
  });
});
afterAll(() => dynamoDb.close());
beforeEach(() => {
  calls.length = 0;
});

const read = async (iterable: AsyncIterable<unknown>) => {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
};

describe('reading a job queue’s waiting jobs', () => {
  it('counts every QUEUED job on ready, fetching the rows', async () => {
    const rows = await read(new JobQueries('Jobs').inPartition('default', 'QUEUED', ['status', 'priority']));
    expect(rows).toEqual([{ status: 'QUEUED', priority: 5 }]);
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
});
