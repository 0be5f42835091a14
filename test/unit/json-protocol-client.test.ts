/** The local pollers' SDK-less client (localstack/cloud/in-process-transport.ts, jsonProtocolClient). */
import { GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { BufferedRequest, ServiceResponse } from '../../localstack/cloud/edge.ts';
import { jsonProtocolClient } from '../../localstack/cloud/in-process-transport.ts';

function edgeAnswering(answer: (request: BufferedRequest) => ServiceResponse) {
  const seen: BufferedRequest[] = [];
  return {
    seen,
    dispatch: async (request: BufferedRequest) => {
      seen.push(request);
      return answer(request);
    },
  };
}

const identity = { region: 'us-east-1', accessKeyId: 'test' };
const sqs = { targetPrefix: 'AmazonSQS', signingName: 'sqs' };

describe('the local pollers’ JSON-protocol client', () => {
  it('sends the command as the JSON protocol names it, with credentials the edge can read', async () => {
    const edge = edgeAnswering(() => ({
      status: 200,
      headers: {},
      body: JSON.stringify({ Messages: [{ MessageId: 'm1', Body: '{}' }] }),
    }));
    const client = jsonProtocolClient(edge, sqs, identity);
    const out = (await client.send(
      new ReceiveMessageCommand({ QueueUrl: 'http://q/1', MaxNumberOfMessages: 10 }),
    )) as { Messages: { MessageId: string }[] };
    expect(out.Messages[0]?.MessageId).toBe('m1');
    const [request] = edge.seen;
    expect(request?.headers['x-amz-target']).toBe('AmazonSQS.ReceiveMessage');
    expect(String(request?.headers.authorization)).toMatch(
      /Credential=test\/\d{8}\/us-east-1\/sqs\/aws4_request/,
    );
    expect(JSON.parse(String(request?.body))).toEqual({ QueueUrl: 'http://q/1', MaxNumberOfMessages: 10 });
  });

  it("throws the service's error by its name, as the SDK does", async () => {
    const edge = edgeAnswering(() => ({
      status: 400,
      headers: {},
      body: JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException',
        message: 'gone',
      }),
    }));
    const client = jsonProtocolClient(
      edge,
      { targetPrefix: 'DynamoDBStreams_20120810', signingName: 'dynamodb' },
      identity,
    );
    await expect(client.send(new GetRecordsCommand({ ShardIterator: 'x' }))).rejects.toMatchObject({
      name: 'TrimmedDataAccessException',
      message: 'gone',
    });
  });

  it('gives up a call whose signal aborts (a poller stopping)', async () => {
    const edge = { dispatch: () => new Promise<ServiceResponse>(() => undefined) };
    const client = jsonProtocolClient(edge, sqs, identity);
    const stop = new AbortController();
    const pending = client.send(new ReceiveMessageCommand({ QueueUrl: 'q', WaitTimeSeconds: 20 }), {
      abortSignal: stop.signal,
    });
    stop.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
