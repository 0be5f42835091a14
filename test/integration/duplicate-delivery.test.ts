import {
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { api, awsClients, placeOrder, waitForOrder } from '../helpers/factory-client.ts';

describe('at-least-once delivery', () => {
  const { sqs, lambda } = awsClients();
  afterAll(() => {
    sqs.destroy();
    lambda.destroy();
  });

  it('a step message delivered three times runs the step once', async () => {
    // Prepare: pause the packaging line so its step message can be copied before any worker sees it.
    const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'PackagingLineQueue' }));
    const queueUrl = QueueUrls?.[0] as string;
    const { EventSourceMappings } = await lambda.send(new ListEventSourceMappingsCommand({}));
    const mapping = EventSourceMappings?.find((m) => m.EventSourceArn?.includes('PackagingLineQueue'));
    expect(mapping?.UUID).toBeDefined();
    const setEnabled = (Enabled: boolean) =>
      lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping?.UUID, Enabled }));
    await setEnabled(false);
    // Pollers finish their current receive before the mapping reports Disabled, as on AWS.
    while (
      (await lambda.send(new GetEventSourceMappingCommand({ UUID: mapping?.UUID }))).State !== 'Disabled'
    ) {
      await new Promise((r) => setTimeout(r, 200));
    }
    try {
      const { orderId } = await placeOrder('companion');
      let message: { Body?: string; ReceiptHandle?: string } | undefined;
      const deadline = Date.now() + 60_000;
      while (!message && Date.now() < deadline) {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
        );
        for (const other of received.Messages ?? []) {
          if (other.Body?.includes(orderId)) message = other;
          // Another test's step: hand it straight back to the queue.
          else
            await sqs.send(
              new ChangeMessageVisibilityCommand({
                QueueUrl: queueUrl,
                ReceiptHandle: other.ReceiptHandle,
                VisibilityTimeout: 0,
              }),
            );
        }
      }
      expect(message?.Body).toContain('"stepName":"package"');

      // Act: two extra copies, and the original made visible again: three deliveries.
      for (let i = 0; i < 2; i++)
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message?.Body }));
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: message?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
      await setEnabled(true);
      const order = await waitForOrder(orderId);

      // Assess
      expect(order.status).toBe('COMPLETED');
      const { body: job } = await api('GET', `/jobs/${orderId}.package`);
      expect(job).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      const { body } = await api('GET', `/jobs/${orderId}.package/logs`);
      expect(body.logs.filter((l: { message: string }) => / started/.test(l.message))).toHaveLength(1);
      expect(body.logs.filter((l: { message: string }) => / completed/.test(l.message))).toHaveLength(1);
    } finally {
      await setEnabled(true);
    }
  });
});
