/** Stream → Lambda mappings: order, batches, partial failures, bisection, OnFailure, checkpoints. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalStreams } from '../../localstack/cloud/dynamo-streams.ts';
import type { InvocationResult, LambdaRuntime } from '../../localstack/cloud/lambda-runtime.ts';
import { type StreamMapping, StreamPollers } from '../../localstack/cloud/stream-pollers.ts';

const table = { TableName: 'Jobs', KeySchema: [{ AttributeName: 'jobId' }] };

/** GetRecords calls made through clientOf, by shard iterator's stream table. */
const reads: string[] = [];

/** The Streams API client, answered by the embedded data plane's streams. */
function clientOf(streams: LocalStreams): DynamoDBStreamsClient {
  return {
    send: async (command: { constructor: { name: string }; input: object }) => {
      if (command.constructor.name === 'GetRecordsCommand') reads.push('GetRecords');
      const response = await streams.handle({
        method: 'POST',
        url: '/',
        headers: {
          'x-amz-target': `DynamoDBStreams_20120810.${command.constructor.name.replace(/Command$/, '')}`,
        },
        body: Buffer.from(JSON.stringify(command.input)),
      });
      const body = JSON.parse(response.body.toString());
      if (response.status !== 200)
        throw Object.assign(new Error(body.message), { name: String(body.__type).split('#').pop() });
      return body;
    },
  } as unknown as DynamoDBStreamsClient;
}

type Handler = (ids: string[]) => InvocationResult;
function runtimeOf(handler: Handler) {
  const batches: string[][] = [];
  const runtime = {
    get: () => ({ arn: 'arn:aws:lambda:us-east-1:000000000000:function:Recorder' }),
    invoke: async (_name: string, event: { Records: { dynamodb: { Keys: { jobId: { S: string } } } }[] }) => {
      const ids = event.Records.map((r) => r.dynamodb.Keys.jobId.S);
      batches.push(ids);
      return handler(ids);
    },
  } as unknown as LambdaRuntime;
  return { runtime, batches };
}

const sent: unknown[] = [];
const sqs = {
  send: async (command: { input: unknown }) => void sent.push(command.input),
} as unknown as SQSClient;
const running: StreamPollers[] = [];
afterEach(() => {
  for (const pollers of running.splice(0)) pollers.stop();
  sent.length = 0;
});

function setUp(
  count: number,
  handler: Handler,
  mapping: Partial<StreamMapping> = {},
  stateFile?: string,
  options: { idlePollMs?: number; wakeOnRecord?: boolean } = {},
) {
  const streams = new LocalStreams({ region: 'us-east-1', accountId: '000000000000' });
  const { arn } = streams.enable('Jobs', ['jobId'], 'NEW_AND_OLD_IMAGES');
  for (let i = 0; i < count; i++) streams.capture(table, undefined, { jobId: { S: `j${i}` } });
  const { runtime, batches } = runtimeOf(handler);
  const pollers = new StreamPollers(clientOf(streams), sqs, runtime, () => undefined, stateFile, {
    idlePollMs: options.idlePollMs ?? 5,
    maxRetryDelayMs: 5,
    ...(options.wakeOnRecord
      ? { onRecord: (listener: (streamArn: string) => void) => streams.onRecord(listener) }
      : {}),
  });
  running.push(pollers);
  pollers.add({
    uuid: 'Recorder',
    functionName: 'Recorder',
    streamArn: arn,
    batchSize: 4,
    startingPosition: 'TRIM_HORIZON',
    maximumBatchingWindowMs: 0,
    bisectBatchOnFunctionError: false,
    maximumRetryAttempts: -1,
    reportBatchItemFailures: false,
    enabled: true,
    ...mapping,
  });
  return { streams, batches, pollers };
}

const ok: Handler = () => ({ ok: true, result: null });
/** Bounded waits, generous for a loaded machine. */
const patience = { timeout: 15_000, interval: 10 };

describe('stream event source mappings', () => {
  it('deliver the records in order, in batches of BatchSize', async () => {
    const { batches } = setUp(10, ok);
    await vi.waitFor(() => expect(batches.flat()).toHaveLength(10), patience);
    expect(batches.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => `j${i}`));
  });

  it('read an idle shard as soon as a record arrives, not at the next poll', async () => {
    // A poll a minute apart: only the wake-up can deliver the second record within the wait.
    const { streams, batches } = setUp(1, ok, {}, undefined, { idlePollMs: 60_000, wakeOnRecord: true });
    await vi.waitFor(() => expect(batches.flat()).toEqual(['j0']), patience);
    // Let the shard's next read come back empty: it is idle now, waiting its minute.
    await new Promise((resolve) => setTimeout(resolve, 50));
    streams.capture(table, undefined, { jobId: { S: 'late' } });
    await vi.waitFor(() => expect(batches.flat()).toEqual(['j0', 'late']), patience);
  });

  it("wake a shard only for its own stream's records, not for every write elsewhere", async () => {
    const { streams, batches } = setUp(1, ok, {}, undefined, { idlePollMs: 60_000, wakeOnRecord: true });
    streams.enable('Orders', ['orderId'], 'NEW_AND_OLD_IMAGES');
    await vi.waitFor(() => expect(batches.flat()).toEqual(['j0']), patience);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const readsBefore = reads.length;
    const orders = { TableName: 'Orders', KeySchema: [{ AttributeName: 'orderId' }] };
    for (let i = 0; i < 20; i++) streams.capture(orders, undefined, { orderId: { S: `o${i}` } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reads.length).toBe(readsBefore);
    // Its own stream still wakes it.
    streams.capture(table, undefined, { jobId: { S: 'late' } });
    await vi.waitFor(() => expect(batches.flat()).toEqual(['j0', 'late']), patience);
  });

  it('resume at the first reported item failure', async () => {
    let failedOnce = false;
    const { batches } = setUp(
      4,
      (ids) => {
        if (!failedOnce && ids.includes('j2')) {
          failedOnce = true;
          return { ok: true, result: { batchItemFailures: [{ itemIdentifier: '000000000000000000003' }] } };
        }
        return { ok: true, result: null };
      },
      { reportBatchItemFailures: true },
    );
    await vi.waitFor(() => expect(batches).toHaveLength(2), patience);
    expect(batches).toEqual([
      ['j0', 'j1', 'j2', 'j3'],
      ['j2', 'j3'],
    ]);
  });

  it('halve a failing batch until the poison record is alone, give it to OnFailure, and go on', async () => {
    const { batches } = setUp(
      8,
      (ids) =>
        ids.includes('j2')
          ? { ok: false, error: { errorType: 'Error', errorMessage: 'poison' } }
          : { ok: true, result: null },
      {
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 1,
        onFailureQueueUrl: 'http://queue/Recorder-DLQ',
      },
    );
    await vi.waitFor(() => expect(batches.flat()).toContain('j7'), patience);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ QueueUrl: 'http://queue/Recorder-DLQ' });
    const info = JSON.parse((sent[0] as { MessageBody: string }).MessageBody).DDBStreamBatchInfo;
    expect(info).toMatchObject({ batchSize: 1, startSequenceNumber: '000000000000000000003' });
    // Every good record got through; only j2 was given up.
    for (const id of ['j0', 'j1', 'j3', 'j4', 'j5', 'j6', 'j7'])
      expect(batches.some((b) => b.length > 0 && b.includes(id) && !b.includes('j2'))).toBe(true);
  });

  it('checkpoint each batch, so a restart goes on after the last one processed', async () => {
    const stateFile = path.join(mkdtempSync(path.join(tmpdir(), 'stream-pollers-')), 'checkpoints.json');
    const first = setUp(4, ok, {}, stateFile);
    await vi.waitFor(() => expect(first.batches.flat()).toHaveLength(4), patience);
    first.pollers.stop();
    // The same stream gains records while the mapping is down; a new poller reads only those.
    for (let i = 4; i < 6; i++) first.streams.capture(table, undefined, { jobId: { S: `j${i}` } });
    const { runtime, batches } = runtimeOf(ok);
    const again = new StreamPollers(clientOf(first.streams), sqs, runtime, () => undefined, stateFile, {
      idlePollMs: 5,
    });
    running.push(again);
    again.add({ ...first.pollers.list()[0] } as StreamMapping);
    await vi.waitFor(() => expect(batches.flat()).toHaveLength(2), patience);
    expect(batches.flat()).toEqual(['j4', 'j5']);
  });
});
