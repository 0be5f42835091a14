/** The embedded data plane's DynamoDB Streams: records, iterators, retention, durability. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStreams } from '../../localstack/cloud/dynamo-streams.ts';

const table = { TableName: 'Jobs', KeySchema: [{ AttributeName: 'jobId' }] };
const row = (jobId: string, status: string) => ({ jobId: { S: jobId }, status: { S: status } });

/** One Streams API call, as the edge hands it over. */
async function call(streams: LocalStreams, action: string, input: object) {
  const response = await streams.handle({
    method: 'POST',
    url: '/',
    headers: { 'x-amz-target': `DynamoDBStreams_20120810.${action}` },
    body: Buffer.from(JSON.stringify(input)),
  });
  return { status: response.status, body: JSON.parse(response.body.toString()) };
}

async function read(
  streams: LocalStreams,
  arn: string,
  type: string,
  SequenceNumber?: string,
  Limit?: number,
) {
  const { body } = await call(streams, 'DescribeStream', { StreamArn: arn });
  const ShardId = body.StreamDescription.Shards[0].ShardId;
  const iterator = await call(streams, 'GetShardIterator', {
    StreamArn: arn,
    ShardId,
    ShardIteratorType: type,
    ...(SequenceNumber ? { SequenceNumber } : {}),
  });
  if (iterator.status !== 200) return iterator;
  return call(streams, 'GetRecords', {
    ShardIterator: iterator.body.ShardIterator,
    ...(Limit ? { Limit } : {}),
  });
}

describe('local DynamoDB Streams', () => {
  it('records each change that changed the item, in order, with both images', async () => {
    const streams = new LocalStreams({ region: 'us-east-1', accountId: '000000000000' });
    const { arn } = streams.enable('Jobs', ['jobId'], 'NEW_AND_OLD_IMAGES');
    streams.capture(table, undefined, row('j1', 'QUEUED'));
    streams.capture(table, row('j1', 'QUEUED'), row('j1', 'QUEUED')); // no change: no record
    streams.capture(table, row('j1', 'QUEUED'), row('j1', 'COMPLETED'));
    streams.capture(table, row('j1', 'COMPLETED'), undefined);
    streams.capture({ ...table, TableName: 'Other' }, undefined, row('x', 'QUEUED')); // no stream

    const { body } = await read(streams, arn, 'TRIM_HORIZON');
    expect(body.Records.map((r: { eventName: string }) => r.eventName)).toEqual([
      'INSERT',
      'MODIFY',
      'REMOVE',
    ]);
    expect(body.Records[1].dynamodb).toMatchObject({
      Keys: { jobId: { S: 'j1' } },
      OldImage: row('j1', 'QUEUED'),
      NewImage: row('j1', 'COMPLETED'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    const sequences = body.Records.map((r: { dynamodb: { SequenceNumber: string } }) =>
      BigInt(r.dynamodb.SequenceNumber),
    );
    expect([...sequences].sort((a, b) => (a < b ? -1 : 1))).toEqual(sequences);
    expect(streams.describe('Jobs')).toMatchObject({ LatestStreamArn: arn });
    expect(streams.describe('Other')).toBeUndefined();
  });

  it('reads from the oldest, the newest, or after a sequence number, page by page', async () => {
    const streams = new LocalStreams({ region: 'us-east-1', accountId: '000000000000' });
    const { arn } = streams.enable('Jobs', ['jobId'], 'NEW_IMAGE');
    for (let i = 0; i < 5; i++) streams.capture(table, undefined, row(`j${i}`, 'QUEUED'));
    const firstPage = await read(streams, arn, 'TRIM_HORIZON', undefined, 2);
    expect(firstPage.body.Records).toHaveLength(2);
    expect(firstPage.body.Records[0].dynamodb.OldImage).toBeUndefined();
    const next = await call(streams, 'GetRecords', { ShardIterator: firstPage.body.NextShardIterator });
    expect(
      next.body.Records.map((r: { dynamodb: { Keys: { jobId: { S: string } } } }) => r.dynamodb.Keys.jobId.S),
    ).toEqual(['j2', 'j3', 'j4']);
    expect((await read(streams, arn, 'LATEST')).body.Records).toEqual([]);
    const second = firstPage.body.Records[1].dynamodb.SequenceNumber;
    expect((await read(streams, arn, 'AFTER_SEQUENCE_NUMBER', second)).body.Records).toHaveLength(3);
    expect((await read(streams, arn, 'AT_SEQUENCE_NUMBER', second)).body.Records).toHaveLength(4);
  });

  it('keeps records 24 hours, and says so when asked for trimmed ones', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const streams = new LocalStreams({ region: 'us-east-1', accountId: '000000000000', now: () => now });
    const { arn } = streams.enable('Jobs', ['jobId'], 'KEYS_ONLY');
    streams.capture(table, undefined, row('old', 'QUEUED'));
    const old = (await read(streams, arn, 'TRIM_HORIZON')).body.Records[0].dynamodb.SequenceNumber;
    now += 25 * 3_600_000;
    streams.capture(table, undefined, row('new', 'QUEUED'));
    const kept = await read(streams, arn, 'TRIM_HORIZON');
    expect(
      kept.body.Records.map((r: { dynamodb: { Keys: { jobId: { S: string } } } }) => r.dynamodb.Keys.jobId.S),
    ).toEqual(['new']);
    const trimmed = await read(streams, arn, 'AT_SEQUENCE_NUMBER', old);
    expect(trimmed.status).toBe(400);
    expect(trimmed.body.__type).toMatch(/TrimmedDataAccessException/);
  });

  it('adds the stream to the table API: CreateTable, a stream-only UpdateTable (an older table), DescribeTable', async () => {
    const streams = new LocalStreams({ region: 'us-east-1', accountId: '000000000000' });
    const seen: string[] = [];
    // dynalite's side: it knows the tables, nothing of streams.
    const dynalite = async (request: { headers: Record<string, unknown>; body: Buffer }) => {
      const action = String(request.headers['x-amz-target']).split('.')[1] as string;
      const input = JSON.parse(request.body.toString());
      seen.push(`${action} ${JSON.stringify(input)}`);
      const table = { TableName: input.TableName, KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }] };
      const body = action === 'DescribeTable' ? { Table: table } : { TableDescription: table };
      return { status: 200, headers: {}, body: JSON.stringify(body) };
    };
    const api = streams.tables(dynalite);
    const send = async (action: string, input: object) => {
      const response = await api({
        method: 'POST',
        url: '/',
        headers: { 'x-amz-target': `DynamoDB_20120810.${action}` },
        body: Buffer.from(JSON.stringify(input)),
      });
      return JSON.parse(response.body.toString());
    };
    const specification = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' };
    const created = await send('CreateTable', { TableName: 'Jobs', StreamSpecification: specification });
    expect(created.TableDescription).toMatchObject({
      StreamSpecification: specification,
      LatestStreamArn: expect.stringContaining('table/Jobs/stream/'),
    });
    // A table kept from before streams existed gains one; dynalite never sees the specification.
    const updated = await send('UpdateTable', { TableName: 'Older', StreamSpecification: specification });
    expect(updated.TableDescription.LatestStreamArn).toContain('table/Older/stream/');
    expect((await send('DescribeTable', { TableName: 'Older' })).Table.LatestStreamArn).toBe(
      updated.TableDescription.LatestStreamArn,
    );
    expect(seen.some((call) => call.includes('StreamSpecification'))).toBe(false);
    expect(seen).toContain('DescribeTable {"TableName":"Older"}');
  });

  it("writes a stream's switch to its journal before the call that asked for it is answered", () => {
    const journal = () => path.join(mkdtempSync(path.join(tmpdir(), 'streams-')), 'streams.jsonl');
    const identity = { region: 'us-east-1', accountId: '000000000000' };
    // Read back with no turn of the event loop in between: what a kill -9 right after the answer leaves.
    const enabled = journal();
    const { arn } = new LocalStreams({ ...identity, file: enabled }).enable(
      'Jobs',
      ['jobId'],
      'NEW_AND_OLD_IMAGES',
    );
    expect(new LocalStreams({ ...identity, file: enabled }).describe('Jobs')).toMatchObject({
      LatestStreamArn: arn,
    });
    const disabled = journal();
    const streams = new LocalStreams({ ...identity, file: disabled });
    streams.enable('Jobs', ['jobId'], 'NEW_AND_OLD_IMAGES');
    streams.disable('Jobs');
    expect(new LocalStreams({ ...identity, file: disabled }).describe('Jobs')).toBeUndefined();
  });

  it('survives a restart: the stream, its records and the sequence go on from the journal', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'streams-')), 'streams.jsonl');
    const before = new LocalStreams({ region: 'us-east-1', accountId: '000000000000', file });
    const { arn } = before.enable('Jobs', ['jobId'], 'NEW_AND_OLD_IMAGES');
    before.capture(table, undefined, row('j1', 'QUEUED'));
    before.flush(); // as the DynamoDB API does before it answers the call that wrote the row
    const after = new LocalStreams({ region: 'us-east-1', accountId: '000000000000', file });
    after.capture(table, row('j1', 'QUEUED'), row('j1', 'RUNNING'));
    expect(after.describe('Jobs')).toMatchObject({ LatestStreamArn: arn });
    const { body } = await read(after, arn, 'TRIM_HORIZON');
    expect(body.Records.map((r: { eventName: string }) => r.eventName)).toEqual(['INSERT', 'MODIFY']);
    expect(BigInt(body.Records[1].dynamodb.SequenceNumber)).toBeGreaterThan(
      BigInt(body.Records[0].dynamodb.SequenceNumber),
    );
  });
});
