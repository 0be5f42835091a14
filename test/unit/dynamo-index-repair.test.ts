/**
 * After a kill -9 between dynalite's index writes and its item write, the local cloud rebuilds
 * every secondary index from its table (localstack/cloud/dynamo-index-repair.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterEach, describe, expect, it } from 'vitest';
import { captureDynaliteStore, rebuildIndexes } from '../../localstack/cloud/dynamo-index-repair.ts';

let server: Server | undefined;
let client: DynamoDBClient | undefined;
afterEach(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function startDynalite() {
  const store = captureDynaliteStore();
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const db = store()?.db;
  if (!db) throw new Error('dynalite store not captured');
  return { db, client };
}

const byStatus = (c: DynamoDBClient, status: string) =>
  c
    .send(
      new QueryCommand({
        TableName: 'Jobs',
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: status } },
      }),
    )
    .then((r) => (r.Items ?? []).map((i) => i.jobId?.S));

describe('secondary index repair', () => {
  it('makes an index that a crash left stale agree with its table again', async () => {
    const { db, client } = await startDynalite();
    await client.send(
      new CreateTableCommand({
        TableName: 'Jobs',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'jobId', AttributeType: 'S' },
          { AttributeName: 'status', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byStatus',
            KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
    for (const jobId of ['a', 'b', 'c'])
      await client.send(
        new PutItemCommand({ TableName: 'Jobs', Item: { jobId: { S: jobId }, status: { S: 'RUNNING' } } }),
      );
    const entries = async (prefix: string) => {
      const found = new Map<string, { jobId: { S: string } }>();
      for await (const [key, value] of db.iterator({ gte: prefix, lt: `${prefix}\uffff` }))
        found.set(key, value as { jobId: { S: string } });
      return found;
    };
    const keyOf = (found: Map<string, { jobId: { S: string } }>, jobId: string) =>
      [...found].find(([, value]) => value.jobId.S === jobId)?.[0] as string;
    // The crash, as dynalite's write order allows it: b went to FAILED in its index but its
    // item write did not land (the row still says RUNNING); c's index entry was deleted and
    // the put that follows it never ran.
    const runningB = (await entries('item-Jobs~')).get(keyOf(await entries('item-Jobs~'), 'b'));
    await client.send(
      new UpdateItemCommand({
        TableName: 'Jobs',
        Key: { jobId: { S: 'b' } },
        UpdateExpression: 'SET #s = :f',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':f': { S: 'FAILED' } },
      }),
    );
    await db.batch([
      { type: 'put', key: keyOf(await entries('item-Jobs~'), 'b'), value: runningB },
      { type: 'del', key: keyOf(await entries('index-global~Jobs~byStatus~'), 'c') },
    ]);
    expect(await byStatus(client, 'RUNNING')).toEqual(['a']);
    expect(await byStatus(client, 'FAILED')).toEqual(['b']);

    const rebuilt = await rebuildIndexes(db);

    expect(rebuilt).toEqual({ tables: 1, entries: 3 });
    expect((await byStatus(client, 'RUNNING')).sort()).toEqual(['a', 'b', 'c']);
    expect(await byStatus(client, 'FAILED')).toEqual([]);
  });
});
