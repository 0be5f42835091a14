/**
 * The bench's emulator section: raw rates of the local data plane through the edge, with the
 * SDK, as a function would call it — the bound the factory's own drain is measured against.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

export interface EmulatorRates {
  /** Conditional PutItems per second on the jobs table (its indexes included), 16 at a time. */
  readonly dynamoPutsPerSecond: number;
  /** Messages per second through send (batches of 10), receive (10) and delete (batches of 10). */
  readonly sqsMessagesPerSecond: number;
}

async function timed(count: number, parallel: number, one: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return (count / (performance.now() - started)) * 1000;
}

export async function emulatorRates(
  edgeUrl: string,
  jobsTable: string,
  count = 2000,
): Promise<EmulatorRates> {
  const config = {
    region: 'us-east-1',
    endpoint: edgeUrl,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const dynamo = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  try {
    // A job-shaped item that lands in the queue-status index, as an intake write does.
    const item = (i: number) => ({
      jobId: { S: `bench-raw-${i}` },
      queueStatus: { S: 'bench#QUEUED' },
      createdAt: { S: new Date().toISOString() },
      status: { S: 'QUEUED' },
      payload: { S: JSON.stringify({ message: `raw ${i}` }) },
    });
    const dynamoPutsPerSecond = await timed(count, 16, (i) =>
      dynamo.send(
        new PutItemCommand({
          TableName: jobsTable,
          Item: item(i),
          ConditionExpression: 'attribute_not_exists(jobId)',
        }),
      ),
    );
    await timed(count, 16, (i) =>
      dynamo.send(new DeleteItemCommand({ TableName: jobsTable, Key: { jobId: { S: `bench-raw-${i}` } } })),
    );

    // A queue of its own: no poller drains it.
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'bench-raw-rates' }));
    const started = performance.now();
    await timed(count / 10, 8, (b) =>
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({
            Id: String(i),
            MessageBody: `raw ${b * 10 + i}`,
          })),
        }),
      ),
    );
    let received = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (received < count) {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          );
          if (Messages.length === 0) break;
          received += Messages.length;
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: queueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      }),
    );
    const sqsMessagesPerSecond = (received / (performance.now() - started)) * 1000;
    return { dynamoPutsPerSecond, sqsMessagesPerSecond };
  } finally {
    dynamo.destroy();
    sqs.destroy();
  }
}
