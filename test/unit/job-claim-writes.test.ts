/**
 * What the job engine store's claim, first heartbeat and settle write (functions/adapters/
 * job-engine-store.ts) against a canned DynamoDB, and what those writes cost on the jobs table's
 * real indexes (jobs-table.ts) by AWS's billing rules (localstack/cloud/write-units.ts): the claim
 * touches no index, a short attempt settles from `ready` straight into its finished partition.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobEngineStore } from '../../functions/adapters/job-engine-store.ts';
import { jobIndexes } from '../../functions/adapters/jobs-table.ts';
import { writeUnitsOf } from '../../localstack/cloud/write-units.ts';
import { type CannedCall, startCannedDynamo } from '../helpers/canned-dynamo.ts';

const calls: CannedCall[] = [];
let dynamoDb: Awaited<ReturnType<typeof startCannedDynamo>>;
beforeAll(async () => {
  dynamoDb = await startCannedDynamo((call) => {
    calls.push(call);
    if (call.target.endsWith('.Query'))
      return { Items: ['job_a', 'job_b', 'job_c'].map((id) => ({ jobId: { S: id } })) };
    if (call.target.endsWith('.BatchGetItem'))
      return {
        Responses: {
          Jobs: [
            { jobId: { S: 'job_a' }, status: { S: 'RUNNING' } },
            { jobId: { S: 'job_b' }, status: { S: 'QUEUED' } },
            { jobId: { S: 'job_c' }, status: { S: 'QUEUED' } },
          ],
        },
      };
    return { Attributes: { jobId: { S: 'job_1' }, status: { S: 'RUNNING' } } };
  });
});
afterAll(() => dynamoDb.close());
beforeEach(() => {
  calls.length = 0;
});

const store = new JobEngineStore('Jobs', { finishedDays: 7, deadDays: 30 });
const now = new Date('2026-12-06T10:00:00.000Z');

/** A no-op job of priority 5, waiting. */
const noOpJob = {
  jobId: 'job_1',
  kind: 'job',
  queue: 'default',
  type: 'delayed_message',
  status: 'QUEUED',
  attempts: 0,
  maxAttempts: 3,
  priority: 5,
  createdAt: now.toISOString(),
} as const;

/** The attribute names an update's SET and REMOVE clauses name. */
function touched(call: CannedCall | undefined) {
  const body = call?.body as { UpdateExpression: string; ExpressionAttributeNames: Record<string, string> };
  const [, set = '', remove = ''] =
    /^SET (.*?)(?: REMOVE (.*?))?(?: ADD .*)?$/.exec(body.UpdateExpression) ?? [];
  const names = (clause: string) =>
    clause
      .split(', ')
      .filter(Boolean)
      .map((part) => body.ExpressionAttributeNames[part.split(' ')[0] as string]);
  return { set: names(set), remove: names(remove) };
}

describe('the writes of an attempt', () => {
  it('settles a lost attempt only while no cancel was asked, unless it settles it CANCELLED', async () => {
    const lost = {
      ...noOpJob,
      status: 'RUNNING',
      attempts: 1,
      attemptToken: 't',
      leaseExpiresAt: now.getTime() - 1,
    } as const;
    const retry = { status: 'FAILED', error: 'lost', runAt: now.toISOString(), retryInMs: 0 } as const;
    await store.expireLease(lost, retry, now, { dispatchAt: now.toISOString() });
    await store.expireLease(lost, { status: 'CANCELLED', reason: 'asked' }, now);
    const conditions = calls.map((c) => (c.body as { ConditionExpression: string }).ConditionExpression);
    expect(conditions[0]).toMatch(/#leaseExpiresAt < :now AND attribute_not_exists\(#cancelRequestedAt\)/);
    expect(conditions[1]).toMatch(/#leaseExpiresAt < :now/);
    expect(conditions[1]).not.toMatch(/cancelRequestedAt/);
    // Put back in line for a later rate-limit slot only while no cancel was asked.
    await store.postpone(lost, 't', now.getTime() + 60_000, now.toISOString(), now, {
      dispatchAt: now.toISOString(),
    });
    const postponed = calls[2]?.body as { ConditionExpression: string } | undefined;
    expect(postponed?.ConditionExpression).toMatch(/attribute_not_exists\(#cancelRequestedAt\)/);
  });

  it('claims with the job left on ready and out of the listing index', async () => {
    await store.claim('job_1', { token: 't', workerId: 'w', now, leaseMs: 30_000, queue: 'default' });
    const { set, remove } = touched(calls[0]);
    expect(set).toContain('status');
    expect(set).not.toContain('queueStatus');
    expect(remove).toContain('queueStatus');
    expect(remove).not.toContain('readyKey');
    expect(remove).not.toContain('readyRank');
  });

  it('lists at the claim when asked (a job taken by overtaking, whose wake-up may be nowhere)', async () => {
    await store.claim('job_1', {
      token: 't',
      workerId: 'w',
      now,
      leaseMs: 30_000,
      queue: 'default',
      listed: true,
    });
    const { set, remove } = touched(calls[0]);
    expect(set).toContain('queueStatus');
    expect(remove).toEqual(expect.arrayContaining(['readyKey', 'readyRank']));
    expect(remove).not.toContain('queueStatus');
    const values = (calls[0]?.body as any)?.ExpressionAttributeValues;
    expect(values?.[':set_queueStatus']).toEqual({ S: 'default#RUNNING' });
  });

  it('lists the attempt as RUNNING with the beat that asks to, moving it off ready', async () => {
    await store.extendLease('job_1', 't', now.getTime() + 30_000, 'default');
    await store.extendLease('job_1', 't', now.getTime() + 60_000);
    const listing = touched(calls[0]);
    expect(listing.set).toEqual(['leaseExpiresAt', 'queueStatus']);
    expect(listing.remove).toEqual(['readyKey', 'readyRank']);
    const values = (calls[0]?.body as any)?.ExpressionAttributeValues;
    expect(values?.[':set_queueStatus']).toEqual({
      S: 'default#RUNNING',
    });
    expect(touched(calls[1])).toEqual({ set: ['leaseExpiresAt'], remove: [] });
  });

  it('ranks a job on ready from when it became runnable: a past runAt at intake, a dependent released now', async () => {
    const job = {
      ...noOpJob,
      runAt: '2026-12-06T08:00:00.000Z',
    } as const;
    await store.createFresh([{ job, plan: undefined }]);
    const put = (calls[0]?.body as any)?.RequestItems?.Jobs?.[0]?.PutRequest?.Item;
    expect(put?.readyRank).toEqual({ S: `05#${now.toISOString()}#job_1` });
    expect(put?.runAt).toEqual({ S: '2026-12-06T08:00:00.000Z' });
    const later = new Date(now.getTime() + 60_000);
    await store.release({ ...job, status: 'PENDING' }, later, { dispatchAt: later.toISOString() });
    const values = (calls[1]?.body as any)?.ExpressionAttributeValues;
    expect(values?.[':set_readyRank']).toEqual({ S: `05#${later.toISOString()}#job_1` });
    // A job due later than that keeps its due time.
    await store.release({ ...job, status: 'PENDING', runAt: '2026-12-06T11:00:00.000Z' }, later, {
      dispatchAt: later.toISOString(),
    });
    expect((calls[2]?.body as any)?.ExpressionAttributeValues?.[':set_readyRank']).toEqual({
      S: '05#2026-12-06T11:00:00.000Z#job_1',
    });
  });

  it('gives way only to better work still waiting: an unlisted attempt at the head of the band is skipped', async () => {
    expect(await store.readyAhead('default', 'normal', 6, now, 3)).toEqual(['job_b', 'job_c']);
    expect(calls.map((c) => c.target.split('.')[1])).toEqual(['Query', 'BatchGetItem']);
  });

  // What rows shaped as those writes leave them cost on the jobs table's real index definitions
  // (the shapes are the cases above; this prices them, it does not call the store).
  it('costs one write unit for the claim and three for a short attempt’s settle, on the real indexes', () => {
    const table = {
      TableName: 'Jobs',
      KeySchema: [{ AttributeName: 'jobId' }],
      GlobalSecondaryIndexes: Object.entries(jobIndexes).map(([name, index]) => ({
        IndexName: name,
        KeySchema: [{ AttributeName: index.partitionKey.name }, { AttributeName: index.sortKey.name }],
        Projection:
          'projection' in index
            ? index.projection === 'KEYS_ONLY'
              ? { ProjectionType: 'KEYS_ONLY' }
              : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projection] }
            : { ProjectionType: 'ALL' },
      })),
    };
    const S = (s: string) => ({ S: s });
    const size = (item: Record<string, Record<string, unknown>>) =>
      Object.entries(item).reduce((n, [k, v]) => n + k.length + String(Object.values(v)[0]).length, 0);
    const queued = {
      jobId: S('job_1'),
      status: S('QUEUED'),
      createdAt: S('2026-12-06T09:59:59.000Z'),
      runAt: S('2026-12-06T09:59:59.000Z'),
      readyKey: S('default#normal'),
      readyRank: S('05#2026-12-06T09:59:59.000Z#job_1'),
    };
    const claimed = { ...queued, status: S('RUNNING'), attemptToken: S('t'), leaseExpiresAt: { N: '1' } };
    const { readyKey: _k, readyRank: _r, leaseExpiresAt: _l, ...rest } = claimed;
    const completed = { ...rest, status: S('COMPLETED'), queueStatus: S('default#COMPLETED') };
    const listed = { ...rest, queueStatus: S('default#RUNNING'), leaseExpiresAt: { N: '2' } };
    expect(Object.fromEntries(writeUnitsOf(table, queued, claimed, size))).toEqual({ Jobs: 1 });
    expect(Object.fromEntries(writeUnitsOf(table, claimed, completed, size))).toEqual({
      Jobs: 1,
      'Jobs/ready': 1,
      'Jobs/byQueueStatus': 1,
    });
    // An attempt that runs on: listed (3), then moved to its finished partition (3).
    expect(Object.fromEntries(writeUnitsOf(table, claimed, listed, size))).toEqual({
      Jobs: 1,
      'Jobs/ready': 1,
      'Jobs/byQueueStatus': 1,
    });
    expect(
      Object.fromEntries(writeUnitsOf(table, listed, { ...completed, leaseExpiresAt: { N: '2' } }, size)),
    ).toEqual({ Jobs: 1, 'Jobs/byQueueStatus': 2 });
  });
});
