/** The embedded SQS through the AWS SDK, as the factory's code uses it, and across a restart. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { QueueService } from '../../localstack/cloud/sqs/queue-service.ts';

const identity = { region: 'us-east-1', accountId: '000000000000' };

/** An SQS client whose requests go straight to the service (no HTTP). */
function clientFor(service: QueueService) {
  const client = new SQSClient({
    region: identity.region,
    endpoint: 'http://local',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (request: {
        method: string;
        path: string;
        headers: Record<string, string>;
        body?: string;
      }) => {
        const response = await service.handle({
          method: request.method,
          url: request.path,
          headers: request.headers,
          body: Buffer.from(request.body ?? ''),
        });
        const { Readable } = await import('node:stream');
        return {
          response: {
            statusCode: response.status,
            headers: response.headers,
            body: Readable.from([Buffer.from(response.body)]),
          },
        };
      },
    } as never,
  });
  return client;
}

const clients: SQSClient[] = [];
const services: QueueService[] = [];
function start(file?: string) {
  const service = new QueueService(() => 'http://local', identity, file);
  const client = clientFor(service);
  clients.push(client);
  services.push(service);
  return client;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of services.splice(0)) s.stop();
});

describe('the embedded SQS', () => {
  it('sends, receives with visibility, deletes only with the latest receipt, batches', async () => {
    const sqs = start();
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'work', Attributes: { VisibilityTimeout: '30' } }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'one' }));
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'two' },
          { Id: 'b', MessageBody: 'three' },
        ],
      }),
    );
    const first = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    expect(first.Messages?.map((m) => m.Body)).toEqual(['one', 'two', 'three']);
    expect(first.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('1');
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toEqual([]);
    const [one, two] = first.Messages ?? [];
    // Handed back at once, received again: the first receipt no longer deletes it.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: one?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    expect(again.Messages?.[0]?.Body).toBe('one');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: one?.ReceiptHandle }));
    const counts = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(counts.Attributes).toMatchObject({
      ApproximateNumberOfMessagesNotVisible: '3',
      ApproximateNumberOfMessages: '0',
    });
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: '1', ReceiptHandle: again.Messages?.[0]?.ReceiptHandle },
          { Id: '2', ReceiptHandle: two?.ReceiptHandle },
          { Id: '3', ReceiptHandle: 'not-a-receipt' },
        ],
      }),
    );
    expect(deleted.Successful?.map((s) => s.Id)).toEqual(['1', '2']);
    expect(deleted.Failed?.[0]).toMatchObject({ Id: '3', Code: 'ReceiptHandleIsInvalid' });
  });

  it('holds a delayed message, and a long poll returns as soon as it is due', async () => {
    const sqs = start();
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'later' }));
    const sent = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'soon', DelaySeconds: 1 }));
    const delayed = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }),
    );
    expect(delayed.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(Messages?.[0]?.Body).toBe('soon');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(1000);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
    const sqs = start();
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'dead' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'poison' }));
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl,
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dead',
            maxReceiveCount: 2,
          }),
        },
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'bad' }));
    for (let i = 0; i < 2; i++) {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
      expect(Messages?.[0]?.Body).toBe('bad');
    }
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages ?? []).toEqual([]);
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl }));
    expect(Messages?.[0]?.Body).toBe('bad');
  });

  it('keeps queues and messages across a restart, and hands back what was in flight', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sqs-')), 'sqs.jsonl');
    const before = start(file);
    const { QueueUrl } = await before.send(new CreateQueueCommand({ QueueName: 'durable' }));
    for (const body of ['kept', 'taken', 'done'])
      await before.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    const taken = await before.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 3, VisibilityTimeout: 60 }),
    );
    const done = taken.Messages?.find((m) => m.Body === 'done');
    await before.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: done?.ReceiptHandle }));
    const kept = taken.Messages?.find((m) => m.Body === 'kept');
    await before.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: kept?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    // Act: a new service on the same journal, as after a restart.
    const after = start(file);

    // Assess: 'done' is gone; 'kept' and 'taken' are there, and 'taken' — in flight when the
    // service stopped, its consumer gone with it — is visible again at once, its count kept.
    const counts = await after.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    expect(counts.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '2',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
    const { Messages } = await after.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }),
    );
    expect(Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([
      ['kept', '2'],
      ['taken', '2'],
    ]);
  });
});
