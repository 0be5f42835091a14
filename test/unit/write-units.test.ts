/** Write units as AWS bills them: table by item size, indexes only where their entry changes. */
import { describe, expect, it } from 'vitest';
import { writeUnitsOf } from '../../localstack/cloud/write-units.ts';

const table = {
  TableName: 'Jobs',
  KeySchema: [{ AttributeName: 'jobId' }],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'byQueueStatus',
      KeySchema: [{ AttributeName: 'queueStatus' }, { AttributeName: 'createdAt' }],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: 'byLease',
      KeySchema: [{ AttributeName: 'leaseShard' }, { AttributeName: 'leaseUntil' }],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
};
// Attribute names plus string lengths, as DynamoDB sizes an item.
const size = (item: Record<string, Record<string, unknown>>) =>
  Object.entries(item).reduce((n, [k, v]) => n + k.length + String(Object.values(v)[0]).length, 0);
const S = (s: string) => ({ S: s });
const queued = { jobId: S('j1'), queueStatus: S('default#QUEUED'), createdAt: S('2026-12-01'), body: S('x') };

describe('write units of one write', () => {
  it('charges a new item on the table and on each index it enters', () => {
    expect(Object.fromEntries(writeUnitsOf(table, undefined, queued, size))).toEqual({
      Jobs: 1,
      'Jobs/byQueueStatus': 1,
    });
  });

  it('charges a delete and a put on an index whose key moves, nothing on one that keeps its entry', () => {
    const running = { ...queued, queueStatus: S('default#RUNNING'), leaseShard: S('3'), leaseUntil: S('t1') };
    expect(Object.fromEntries(writeUnitsOf(table, queued, running, size))).toEqual({
      Jobs: 1,
      'Jobs/byQueueStatus': 2,
      'Jobs/byLease': 1,
    });
    // A heartbeat that changes only a non-projected attribute: the keys-only index is untouched,
    // the ALL index rewrites its copy.
    const beat = { ...running, body: S('y') };
    expect(Object.fromEntries(writeUnitsOf(table, running, beat, size))).toEqual({
      Jobs: 1,
      'Jobs/byQueueStatus': 1,
    });
  });

  it('charges by the larger of the item before and after, per started kilobyte', () => {
    const big = { ...queued, body: S('x'.repeat(2_500)) };
    expect(writeUnitsOf(table, big, queued, size).get('Jobs')).toBe(3);
    expect(writeUnitsOf(table, big, undefined, size).get('Jobs/byQueueStatus')).toBe(3);
  });
});
