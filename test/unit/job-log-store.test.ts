/**
 * JobLogStore.appendMany (functions/adapters/job-log-store.ts) against a canned DynamoDB: lines
 * go 25 to a BatchWriteItem, and what DynamoDB leaves unprocessed is written again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobLogStore } from '../../functions/adapters/job-log-store.ts';
import type { JobLogEntry } from '../../functions/domain/jobs.ts';
import { startCannedDynamo } from '../helpers/canned-dynamo.ts';

type WriteRequest = { PutRequest: { Item: Record<string, Record<string, string>> } };

/** Each BatchWriteItem's requests; the answer to call n is `answers[n]` (default: all processed). */
const batches: WriteRequest[][] = [];
let answers: ((requests: WriteRequest[]) => unknown)[] = [];
let dynamoDb: Awaited<ReturnType<typeof startCannedDynamo>>;

beforeAll(async () => {
  dynamoDb = await startCannedDynamo((call) => {
    const requests = (call.body.RequestItems as Record<string, WriteRequest[]>).JobLogs ?? [];
    const answer = answers[batches.length]?.(requests);
    batches.push(requests);
    return answer;
  });
});

afterAll(() => dynamoDb.close());

beforeEach(() => {
  batches.length = 0;
  answers = [];
});

const line = (i: number) => ({
  jobId: `job_${i}`,
  entry: {
    timestamp: '2026-12-05T10:00:00.000Z',
    level: 'INFO',
    message: `line ${i}`,
    attempt: 1,
  } as JobLogEntry,
});

describe('JobLogStore.appendMany', () => {
  it('writes lines 25 to a BatchWriteItem, each with its job, an ordered log id and an expiry', async () => {
    await new JobLogStore('JobLogs', 30).appendMany(Array.from({ length: 60 }, (_, i) => line(i)));
    expect(batches.map((b) => b.length)).toEqual([25, 25, 10]);
    const first = batches[0]?.[0]?.PutRequest.Item;
    expect(first?.jobId).toEqual({ S: 'job_0' });
    expect(first?.message).toEqual({ S: 'line 0' });
    expect(first?.logId?.S).toMatch(/^2026-12-05T10:00:00\.000Z#[0-9a-f]{8}$/);
    // 30 days after the line.
    expect(first?.expiresAt).toEqual({
      N: String(Date.parse('2026-12-05T10:00:00.000Z') / 1000 + 30 * 86_400),
    });
  });

  it('writes again what DynamoDB left unprocessed, and only that', async () => {
    answers = [(requests) => ({ UnprocessedItems: { JobLogs: requests.slice(3) } })];
    await new JobLogStore('JobLogs', 30).appendMany(Array.from({ length: 5 }, (_, i) => line(i)));
    expect(batches.map((b) => b.map((r) => r.PutRequest.Item.jobId?.S))).toEqual([
      ['job_0', 'job_1', 'job_2', 'job_3', 'job_4'],
      ['job_3', 'job_4'],
    ]);
  });
});
