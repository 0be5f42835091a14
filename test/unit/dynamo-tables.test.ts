/**
 * The embedded DynamoDB (localstack/cloud/dynamo-tables.ts): dynalite's API on an in-memory
 * store with a journal. What a factory relies on: conditional writes, index queries in order
 * with a cursor, and every answered write surviving a restart (or a kill -9), items and index
 * entries together.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { importLevelTables } from '../../localstack/cloud/dynamo-level-import.ts';
import { DynamoTables } from '../../localstack/cloud/dynamo-tables.ts';
import { inProcessTransport } from '../../localstack/cloud/in-process-transport.ts';

// The journal's writes, as the OS takes them unless a test makes one fail.
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, writeSync: vi.fn(fs.writeSync) };
});

const identity = { region: 'us-east-1', accountId: '000000000000' };
const opened: DynamoTables[] = [];
afterEach(() => {
  for (const tables of opened.splice(0)) tables.stop();
});

function open(file?: string) {
  const tables = new DynamoTables({ ...identity, ...(file ? { file } : {}) });
  opened.push(tables);
  return { tables, client: clientOf(tables) };
}

const clientOf = (tables: DynamoTables, maxAttempts?: number) =>
  new DynamoDBClient({
    region: identity.region,
    endpoint: 'http://dynamodb.local',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: inProcessTransport({ dispatch: tables.handle }),
    ...(maxAttempts ? { maxAttempts } : {}),
  });

/** Creates the table and waits for it to turn ACTIVE (dynalite's creation delay, 0 ms here). */
const createJobs = async (client: DynamoDBClient) => {
  await create(client);
  await new Promise((resolve) => setTimeout(resolve, 10));
};
const create = (client: DynamoDBClient) =>
  client.send(
    new CreateTableCommand({
      TableName: 'Jobs',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'jobId', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );

const put = (client: DynamoDBClient, jobId: string, status: string, createdAt: string) =>
  client.send(
    new PutItemCommand({
      TableName: 'Jobs',
      Item: { jobId: { S: jobId }, status: { S: status }, createdAt: { S: createdAt } },
      ConditionExpression: 'attribute_not_exists(jobId)',
    }),
  );

const byStatus = async (client: DynamoDBClient, status: string, limit?: number, cursor?: unknown) =>
  client.send(
    new QueryCommand({
      TableName: 'Jobs',
      IndexName: 'byStatus',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': { S: status } },
      ...(limit ? { Limit: limit } : {}),
      ...(cursor ? { ExclusiveStartKey: cursor as never } : {}),
    }),
  );

describe('the embedded DynamoDB', () => {
  it('refuses a conditional put on an existing item, as DynamoDB does', async () => {
    const { client } = open();
    await createJobs(client);
    await put(client, 'a', 'QUEUED', '2026-12-01T00:00:01Z');
    await expect(put(client, 'a', 'QUEUED', '2026-12-01T00:00:02Z')).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('answers an index query in sort-key order, page by page with a cursor', async () => {
    const { client } = open();
    await createJobs(client);
    for (const [id, at] of [
      ['c', '03'],
      ['a', '01'],
      ['d', '04'],
      ['b', '02'],
    ] as const)
      await put(client, id, 'QUEUED', `2026-12-01T00:00:${at}Z`);
    const first = await byStatus(client, 'QUEUED', 3);
    expect(first.Items?.map((i) => i.jobId?.S)).toEqual(['a', 'b', 'c']);
    const rest = await byStatus(client, 'QUEUED', 3, first.LastEvaluatedKey);
    expect(rest.Items?.map((i) => i.jobId?.S)).toEqual(['d']);
    expect(rest.LastEvaluatedKey).toBeUndefined();
    // Newest first: a page from the partition's far end, then the rest before it.
    const newest = await client.send(
      new QueryCommand({
        TableName: 'Jobs',
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'QUEUED' } },
        ScanIndexForward: false,
        Limit: 2,
      }),
    );
    expect(newest.Items?.map((i) => i.jobId?.S)).toEqual(['d', 'c']);
    const older = await client.send(
      new QueryCommand({
        TableName: 'Jobs',
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'QUEUED' } },
        ScanIndexForward: false,
        ExclusiveStartKey: newest.LastEvaluatedKey,
      }),
    );
    expect(older.Items?.map((i) => i.jobId?.S)).toEqual(['b', 'a']);
  });

  it('moves an item between index partitions on update', async () => {
    const { client } = open();
    await createJobs(client);
    await put(client, 'a', 'QUEUED', '2026-12-01T00:00:01Z');
    await client.send(
      new UpdateItemCommand({
        TableName: 'Jobs',
        Key: { jobId: { S: 'a' } },
        UpdateExpression: 'SET #s = :r',
        ConditionExpression: '#s = :q',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':r': { S: 'RUNNING' }, ':q': { S: 'QUEUED' } },
      }),
    );
    expect((await byStatus(client, 'QUEUED')).Count).toBe(0);
    expect((await byStatus(client, 'RUNNING')).Items?.map((i) => i.jobId?.S)).toEqual(['a']);
  });

  it('keeps every answered write across a restart, items and index entries together', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'dynamo-tables-')), 'dynamodb.jsonl');
    const first = open(file);
    await createJobs(first.client);
    for (let i = 0; i < 20; i++) await put(first.client, `j${i}`, 'QUEUED', `2026-12-01T00:00:${10 + i}Z`);
    // No clean stop: a kill -9 right after the last answer, with a torn line after it.
    appendFileSync(file, '[["item-Jobs","torn",{"jobId"');
    const { client } = open(file);
    const queued = await byStatus(client, 'QUEUED');
    expect(queued.Count).toBe(20);
    await put(client, 'after', 'QUEUED', '2026-12-01T00:01:00Z');
    expect((await byStatus(client, 'QUEUED')).Count).toBe(21);
    // One line per call: an item's index entry is never on a line of its own.
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1) as string) as [string, string][];
    expect(last.map(([sub]) => sub).sort()).toEqual(['index-global~Jobs~byStatus', 'item-Jobs']);
  });

  it("journals a call's writes that the disk refused with the next call's, instead of losing them", async () => {
    // Prepare
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'dynamo-tables-')), 'dynamodb.jsonl');
    const first = open(file);
    await createJobs(first.client);
    // Act: the disk refuses the journal line of one put (answered with a failure, not retried);
    // the next put's line is written.
    vi.mocked(writeSync).mockImplementationOnce(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    });
    await expect(put(clientOf(first.tables, 1), 'refused', 'QUEUED', '2026-12-01T00:00:01Z')).rejects.toThrow(
      /ENOSPC/,
    );
    await put(first.client, 'next', 'QUEUED', '2026-12-01T00:00:02Z');
    first.tables.stop();
    // Assess: after a restart, both are there — the refused put had changed the table all the same.
    const { client } = open(file);
    expect((await byStatus(client, 'QUEUED')).Items?.map((i) => i.jobId?.S)).toEqual(['refused', 'next']);
  });

  it("takes over a data directory of dynalite's LevelDB store, indexes rebuilt", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dynamo-import-'));
    const level = dynalite({ path: path.join(dir, 'dynamodb'), createTableMs: 0 });
    await new Promise<void>((resolve) => level.listen(0, '127.0.0.1', () => resolve()));
    const old = new DynamoDBClient({
      region: identity.region,
      endpoint: `http://127.0.0.1:${(level.address() as AddressInfo).port}`,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await createJobs(old);
    for (const id of ['a', 'b']) await put(old, id, 'QUEUED', `2026-12-01T00:00:0${id === 'a' ? 1 : 2}Z`);
    old.destroy();
    await new Promise<void>((resolve) => level.close(() => resolve()));

    const { tables, client } = open(path.join(dir, 'dynamodb.jsonl'));
    expect(await importLevelTables(path.join(dir, 'dynamodb'), tables)).toEqual({ tables: 1, items: 2 });

    expect((await byStatus(client, 'QUEUED')).Items?.map((i) => i.jobId?.S)).toEqual(['a', 'b']);
    expect(existsSync(path.join(dir, 'dynamodb'))).toBe(false);
    expect(existsSync(path.join(dir, 'dynamodb.imported'))).toBe(true);
    // Imported once: the journal has it now.
    expect(await importLevelTables(path.join(dir, 'dynamodb'), tables)).toBeUndefined();
    const again = open(path.join(dir, 'dynamodb.jsonl'));
    expect((await byStatus(again.client, 'QUEUED')).Count).toBe(2);
  });
});
