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
import { afterAll, describe, expect, inject, it } from 'vitest';
import { api, awsClients, placeOrder, waitForOrder } from '../helpers/factory-client.ts';

const { sqs, lambda } = awsClients();
afterAll(() => {
  sqs.destroy();
  lambda.destroy();
});

/** Makes a received message visible again at once: it is delivered anew. */
const handBack = (QueueUrl: string, ReceiptHandle: string | undefined) =>
  sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 0 }));

/**
 * Pauses one priority band of the packaging line, places an order of that band and catches its
 * packaging step message. The band is one no other test file places orders in (low, unless
 * asked): each receive of another test's message counts towards its maxReceiveCount, and a
 * few of them sent that message to the line's dead-letter queue and stalled that test's order.
 */
async function catchPackagingMessage(
  band: 'Urgent' | 'Low' = 'Low',
  extra: Record<string, unknown> = { priority: 'low' },
) {
  const queueName = `PackagingLine${band}Queue`;
  const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: queueName }));
  const queueUrl = QueueUrls?.[0] as string;
  const { EventSourceMappings } = await lambda.send(new ListEventSourceMappingsCommand({}));
  const uuid = EventSourceMappings?.find((m) => m.EventSourceArn?.includes(queueName))?.UUID;
  expect(uuid).toBeDefined();
  const setEnabled = (Enabled: boolean) =>
    lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled }));
  await setEnabled(false);
  // Pollers finish their current receive before the mapping reports Disabled, as on AWS.
  while ((await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State !== 'Disabled') {
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    const { orderId } = await placeOrder('companion', extra);
    let message: { Body?: string; ReceiptHandle?: string } | undefined;
    const deadline = Date.now() + 60_000;
    while (!message && Date.now() < deadline) {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      for (const other of received.Messages ?? []) {
        if (other.Body?.includes(orderId)) message = other;
        // Another test's step: hand it straight back to the queue.
        else await handBack(queueUrl, other.ReceiptHandle);
      }
    }
    expect(JSON.parse(message?.Body ?? '{}')).toMatchObject({ orderId, stepName: 'package' });
    return {
      orderId,
      queueUrl,
      body: message?.Body as string,
      receiptHandle: message?.ReceiptHandle as string,
      setEnabled,
    };
  } catch (error) {
    await setEnabled(true);
    throw error;
  }
}

async function expectRanOnce(orderId: string) {
  const { body: job } = await api('GET', `/jobs/${orderId}.package`);
  expect(job).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  const { body } = await api('GET', `/jobs/${orderId}.package/logs`);
  expect(body.logs.filter((l: { message: string }) => / started/.test(l.message))).toHaveLength(1);
  expect(body.logs.filter((l: { message: string }) => / completed/.test(l.message))).toHaveLength(1);
}

describe('order priority', () => {
  it("a critical order's steps wait in each line's urgent band, ahead of the normal backlog", async () => {
    const caught = await catchPackagingMessage('Urgent', { priority: 'critical' });
    try {
      expect(JSON.parse(caught.body)).toMatchObject({ orderId: caught.orderId, priority: 0 });
      await handBack(caught.queueUrl, caught.receiptHandle);
      await caught.setEnabled(true);
      const order = await waitForOrder(caught.orderId);
      expect(order).toMatchObject({ status: 'COMPLETED', priority: 0 });
    } finally {
      await caught.setEnabled(true);
    }
  });
});

describe('at-least-once delivery', () => {
  // moto's DynamoDB does not make a conditional write atomic against a concurrent one (its server
  // is threaded, the check and the write are separate); DynamoDB and dynalite do. So the race of
  // simultaneous copies runs where the data plane gives DynamoDB's guarantee.
  it.runIf(inject('backend') === 'embedded')(
    'three simultaneous deliveries of a step message run the step once',
    async () => {
      // Prepare
      const caught = await catchPackagingMessage();
      try {
        // Act: two extra copies, and the original made visible again: three deliveries at once.
        for (let i = 0; i < 2; i++)
          await sqs.send(new SendMessageCommand({ QueueUrl: caught.queueUrl, MessageBody: caught.body }));
        await handBack(caught.queueUrl, caught.receiptHandle);
        await caught.setEnabled(true);
        const order = await waitForOrder(caught.orderId);

        // Assess
        expect(order.status).toBe('COMPLETED');
        await expectRanOnce(caught.orderId);
      } finally {
        await caught.setEnabled(true);
      }
    },
  );

  it('a late duplicate of a finished step is answered from the record, not run again', async () => {
    // Prepare
    const caught = await catchPackagingMessage();
    try {
      await handBack(caught.queueUrl, caught.receiptHandle);
      await caught.setEnabled(true);
      expect((await waitForOrder(caught.orderId)).status).toBe('COMPLETED');

      // Act: the same message arrives twice more after the step finished.
      for (let i = 0; i < 2; i++)
        await sqs.send(new SendMessageCommand({ QueueUrl: caught.queueUrl, MessageBody: caught.body }));
      const deadline = Date.now() + 30_000;
      let absorbed = 0;
      while (absorbed < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        const { body } = await api('GET', `/jobs/${caught.orderId}.package/logs`);
        absorbed = body.logs.filter((l: { message: string }) =>
          l.message.startsWith('Duplicate delivery absorbed'),
        ).length;
      }

      // Assess
      expect(absorbed).toBe(2);
      await expectRanOnce(caught.orderId);
    } finally {
      await caught.setEnabled(true);
    }
  });
});
