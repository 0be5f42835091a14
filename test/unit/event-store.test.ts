/**
 * EventStore (functions/adapters/event-store.ts) against a canned DynamoDB: a publication's events
 * are stored gzipped, a write unit per KB of what is stored, and read back — as are publications
 * stored as plain JSON before.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EventStore } from '../../functions/adapters/event-store.ts';
import type { FactoryEventDraft } from '../../functions/domain/factory-events.ts';
import { type CannedCall, startCannedDynamo } from '../helpers/canned-dynamo.ts';

const puts: CannedCall[] = [];
let queryAnswer: unknown = {};
let dynamoDb: Awaited<ReturnType<typeof startCannedDynamo>>;

beforeAll(async () => {
  dynamoDb = await startCannedDynamo((call) => {
    if (call.target.endsWith('.PutItem')) puts.push(call);
    return call.target.endsWith('.Query') ? queryAnswer : {};
  });
});
afterAll(() => dynamoDb.close());
beforeEach(() => {
  puts.length = 0;
  queryAnswer = {};
});

/** A stream batch's events as the publisher drafts them: three a job. */
const drafts = (jobs: number): FactoryEventDraft[] =>
  Array.from({ length: jobs }, (_, i) =>
    (['job.submitted', 'job.started', 'job.completed'] as const).map((type, n) => ({
      type,
      at: new Date(Date.UTC(2026, 11, 6, 10, 0, 0, i * 3 + n)).toISOString(),
      queue: 'default',
      jobId: `job_${(1_765_000_000_000 + i).toString(36)}${(i * 7919).toString(16).padStart(8, '0')}`,
      data: { type: 'delayed_message', kind: 'job', status: 'RUNNING', attempts: 1 },
      key: `shard-0000000001#${String(i).padStart(21, '0')}#${n}`,
    })),
  ).flat();

describe('the event store', () => {
  it('stores a publication gzipped: under a twentieth of a write unit an event for a busy batch', async () => {
    const store = new EventStore('Events', 72);
    const { events, store: write } = store.prepare(drafts(500), new Date('2026-12-06T10:00:00.000Z'));
    await write();
    // ~300 KB of JSON an item, before compression: 1,500 events make two.
    expect(puts).toHaveLength(2);
    const stored = puts
      .map((put) => Buffer.from((put.body.Item as { events: { B: string } }).events.B, 'base64').length)
      .reduce((a, b) => a + b, 0);
    const plain = Buffer.byteLength(JSON.stringify(events));
    expect(stored).toBeLessThan(plain / 8);
    expect(stored / 1024 / events.length).toBeLessThan(0.05);
  });

  it('reads back gzipped publications and plain JSON ones written before', async () => {
    const store = new EventStore('Events', 72);
    const { events } = store.prepare(drafts(2), new Date('2026-12-06T10:00:00.000Z'));
    const [first, second] = [events.slice(0, 3), events.slice(3)];
    queryAnswer = {
      Items: [
        {
          minute: { S: '2026-12-06T10:00' },
          publication: { S: 'p1' },
          events: { S: JSON.stringify(first) },
        },
        {
          minute: { S: '2026-12-06T10:00' },
          publication: { S: 'p2' },
          events: { B: gzipSync(JSON.stringify(second)).toString('base64') },
        },
      ],
    };
    const read = [];
    for await (const publication of store.publications('2026-12-06T10:00')) read.push(publication);
    expect(read).toEqual([
      { publication: 'p1', events: first },
      { publication: 'p2', events: second },
    ]);
  });
});
