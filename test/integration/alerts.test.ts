/**
 * Alert rules over HTTP: a rule on the default queue's fail_sometimes jobs fires when they fail,
 * tells its webhook once and mails its address once (a message in the outbox, GET /outbox),
 * publishes alert.fired, and resolves (once) when they succeed again; a rule with an sns action
 * publishes to its topic on the local cloud's SNS, which delivers to a subscribed queue.
 * The evaluator is the stack's minute task, invoked here so the test need not wait for the clock
 * (its own schedule may evaluate in between: the assertions read the alerts, not one tick).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  api,
  awsClients,
  bearer,
  eventsListed,
  invokeFunction,
  localAdmin,
  submitJob,
  waitForJob,
} from '../helpers/factory-client.ts';

const told: { type: string; alertId: string; ruleId: string; value: number }[] = [];
let hook: Server;
let hookUrl: string;

beforeAll(async () => {
  hook = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      told.push(JSON.parse(body));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
});
afterAll(() => {
  // The evaluator's keep-alive sockets would hold the test process open.
  hook.closeAllConnections();
  hook.close();
});

type AlertEvent = { type: string; queue?: string; data: { alertId: string; ruleId: string } };
type OutboxMail = {
  mailId?: string;
  alertId?: string;
  transition?: string;
  to: string;
  subject: string;
  body: string;
};

/** Every mail of the outbox on the day of `at` (its pages, as a viewer reads them). */
async function outboxOf(at: string): Promise<OutboxMail[]> {
  const mails: OutboxMail[] = [];
  let cursor: string | null = null;
  do {
    const { status, body }: { status: number; body: { mails: OutboxMail[]; nextCursor: string | null } } =
      await api(
        'GET',
        `/outbox?day=${at.slice(0, 10)}&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        bearer('viewer'),
      );
    expect(status).toBe(200);
    mails.push(...body.mails);
    cursor = body.nextCursor;
  } while (cursor);
  return mails;
}

const failing = (probability: number, n: number) =>
  Promise.all(
    Array.from({ length: n }, () =>
      submitJob({ queue: 'default', type: 'fail_sometimes', payload: { probability }, maxAttempts: 1 }),
    ),
  );

describe('alert rules', () => {
  it('refuse what they cannot watch or deliver, and viewers', async () => {
    const base = { name: 'r', condition: { metric: 'backlog', queue: 'default', op: '>', threshold: 1 } };
    const unknownMetric = await api('POST', '/alerts/rules', {
      ...base,
      condition: { ...base.condition, metric: 'mood' },
    });
    expect(unknownMetric.status).toBe(400);
    expect(unknownMetric.body.error.code).toBe('VALIDATION_FAILED');
    const unknownQueue = await api('POST', '/alerts/rules', {
      ...base,
      condition: { ...base.condition, queue: 'nowhere' },
    });
    expect(unknownQueue).toMatchObject({ status: 400, body: { error: { code: 'UNKNOWN_QUEUE' } } });
    // The alert evaluator may publish to its own account's topics in its region, nowhere else.
    const foreignTopic = await api('POST', '/alerts/rules', {
      ...base,
      actions: [{ type: 'sns', topicArn: 'arn:aws:sns:us-east-1:111111111111:theirs' }],
    });
    expect(foreignTopic).toMatchObject({ status: 400, body: { error: { code: 'TOPIC_NOT_ALLOWED' } } });
    const notAnArn = await api('POST', '/alerts/rules', {
      ...base,
      actions: [{ type: 'sns', topicArn: 'factory-alerts' }],
    });
    expect(notAnArn).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    const badAddress = await api('POST', '/alerts/rules', {
      ...base,
      actions: [{ type: 'email', to: 'ops at example' }],
    });
    expect(badAddress).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(badAddress.body.error).toHaveProperty('details');
    const viewer = await api('POST', '/alerts/rules', base, bearer('viewer'));
    expect(viewer.status).toBe(403);
    expect((await api('GET', '/alerts/rules', undefined, bearer('viewer'))).status).toBe(200);
    expect((await api('PATCH', '/alerts/rules/rule_nope', { enabled: false })).status).toBe(404);
    expect((await api('GET', '/alerts?status=sideways')).status).toBe(400);
  });

  it('fire once when failures pass the threshold and resolve once when they recover', {
    timeout: 240_000,
  }, async () => {
    const oncall = `oncall+${Date.now().toString(36)}@example.com`;
    const created = await api('POST', '/alerts/rules', {
      name: 'fail_sometimes failing',
      condition: {
        metric: 'failure_rate',
        queue: 'default',
        type: 'fail_sometimes',
        op: '>',
        threshold: 0.5,
        forMinutes: 1,
      },
      actions: [
        { type: 'webhook', url: hookUrl },
        { type: 'email', to: oncall },
      ],
    });
    expect(created.status).toBe(201);
    const { ruleId } = created.body;
    expect(created.body).toMatchObject({ enabled: true, state: { status: 'ok', breaches: 0 } });
    try {
      // Fail: four jobs that fail their only attempt.
      for (const { jobId } of await failing(1, 4)) expect((await waitForJob(jobId)).status).toBe('DEAD');
      const fired = await vi.waitFor(
        async () => {
          await invokeFunction('AlertEvaluator');
          const { body } = await api('GET', `/alerts?ruleId=${ruleId}`, undefined, bearer('viewer'));
          expect(body.alerts).toHaveLength(1);
          expect(body.alerts[0].notices?.length).toBe(2);
          return body.alerts[0];
        },
        { timeout: 60_000, interval: 1_000 },
      );
      expect(fired).toMatchObject({
        ruleId,
        status: 'firing',
        notices: [
          { transition: 'fired', action: 'webhook', delivered: true, status: 204 },
          { transition: 'fired', action: 'email', to: oncall, delivered: true, mailId: expect.any(String) },
        ],
      });
      expect(fired.value).toBeGreaterThan(0.5);
      // The e-mail is a message in the outbox that send_email delivers to.
      const firedMail = (await outboxOf(fired.notices[1].at)).find(
        (m) => m.mailId === fired.notices[1].mailId,
      );
      expect(firedMail).toMatchObject({
        alertId: fired.alertId,
        ruleId,
        transition: 'fired',
        to: oncall,
        subject: '[Robot Factory] Alert fired: fail_sometimes failing',
      });
      expect(firedMail?.body).toContain(
        `failure_rate ${fired.value} > 0.5 (queue default, type fail_sometimes) fired`,
      );
      expect(told.filter((t) => t.ruleId === ruleId)).toMatchObject([
        { type: 'alert.fired', value: fired.value },
      ]);

      // Recover: succeeding jobs bring the window's failure rate under the threshold (more rounds
      // if other files' fail_sometimes jobs fail in the same minutes).
      const resolved = await vi.waitFor(
        async () => {
          for (const { jobId } of await failing(0, 8)) await waitForJob(jobId);
          await invokeFunction('AlertEvaluator');
          const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
          expect(body.alerts[0].status).toBe('resolved');
          return body.alerts[0];
        },
        { timeout: 150_000, interval: 500 },
      );
      expect(resolved.resolvedValue).toBeLessThanOrEqual(0.5);
      // A few more evaluations: nothing more is told of this alert (one fired, one resolved).
      // Another alert of the rule may open only for a new crossing: other files' fail_sometimes
      // jobs can fail in these minutes.
      await invokeFunction('AlertEvaluator');
      await invokeFunction('AlertEvaluator');
      const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
      const [alert, ...others] = [
        ...body.alerts.filter((a: { alertId: string }) => a.alertId === resolved.alertId),
        ...body.alerts.filter((a: { alertId: string }) => a.alertId !== resolved.alertId),
      ];
      expect(alert.alertId).toBe(resolved.alertId);
      for (const other of others) {
        expect(other.value).toBeGreaterThan(0.5);
        expect(Date.parse(other.firedAt)).toBeGreaterThanOrEqual(Date.parse(resolved.resolvedAt));
      }
      expect(
        alert.notices.map((n: { transition: string; action: string }) => [n.transition, n.action]),
      ).toEqual([
        ['fired', 'webhook'],
        ['fired', 'email'],
        ['resolved', 'webhook'],
        ['resolved', 'email'],
      ]);
      const resolvedNotice = alert.notices[3];
      const mails = await outboxOf(resolvedNotice.at);
      expect(mails.filter((m) => m.alertId === resolved.alertId).map((m) => m.transition)).toContain(
        'resolved',
      );
      expect(mails.find((m) => m.mailId === resolvedNotice.mailId)).toMatchObject({
        to: oncall,
        subject: '[Robot Factory] Alert resolved: fail_sometimes failing',
      });
      expect(told.filter((t) => t.alertId === resolved.alertId).map((t) => t.type)).toEqual([
        'alert.fired',
        'alert.resolved',
      ]);
      // And both are events of the stream.
      await vi.waitFor(
        async () => {
          const mine = (
            await eventsListed<AlertEvent>(
              'type=alert.fired,alert.resolved&limit=500',
              (seen) => seen.filter((e) => e.data.alertId === resolved.alertId).length >= 2,
            )
          ).filter((e) => e.data.alertId === resolved.alertId);
          expect(mine.map((e: { type: string }) => e.type)).toEqual(['alert.fired', 'alert.resolved']);
          expect(mine[0]).toMatchObject({
            queue: 'default',
            data: { metric: 'failure_rate', threshold: 0.5 },
          });
        },
        { timeout: 30_000, interval: 500 },
      );
    } finally {
      expect((await api('DELETE', `/alerts/rules/${ruleId}`)).status).toBe(204);
    }
    expect((await api('GET', `/alerts/rules/${ruleId}`)).status).toBe(404);
  });

  it('publish to an SNS topic, which delivers to the queue subscribed to it', async () => {
    // A topic of the local cloud's SNS with a queue subscribed, as a user would set them up.
    const { sqs } = awsClients();
    const sns = new SNSClient({
      region: 'us-east-1',
      endpoint: inject('edgeUrl'),
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const tag = Date.now().toString(36);
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `factory-alerts-${tag}` }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `alert-inbox-${tag}` }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));
    const created = await api('POST', '/alerts/rules', {
      name: `reports watched ${tag}`,
      condition: { metric: 'throughput', queue: 'reports', op: '>', threshold: -1 },
      actions: [{ type: 'sns', topicArn: TopicArn }],
    });
    expect(created.status).toBe(201);
    const { ruleId } = created.body;
    try {
      const fired = await vi.waitFor(
        async () => {
          await invokeFunction('AlertEvaluator');
          const { body } = await api('GET', `/alerts?ruleId=${ruleId}&status=firing`);
          expect(body.alerts[0]?.notices).toHaveLength(1);
          return body.alerts[0];
        },
        { timeout: 30_000, interval: 500 },
      );
      expect(fired.notices[0]).toMatchObject({
        transition: 'fired',
        action: 'sns',
        to: TopicArn,
        delivered: true,
        messageId: expect.any(String),
      });
      // SNS got one message, the webhook's JSON, and delivered it to the queue in its envelope.
      const { messages } = await localAdmin(
        'GET',
        `/sns/published?topicArn=${encodeURIComponent(TopicArn ?? '')}`,
      );
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({
        messageId: fired.notices[0].messageId,
        subject: `Alert fired: reports watched ${tag}`,
        messageAttributes: { type: { DataType: 'String', Value: 'alert.fired' } },
        deliveries: [{ protocol: 'sqs', delivered: true }],
      });
      expect(JSON.parse(messages[0].message)).toMatchObject({
        type: 'alert.fired',
        ruleId,
        alertId: fired.alertId,
      });
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
      const envelope = JSON.parse(received.Messages?.[0]?.Body ?? '{}');
      expect(envelope).toMatchObject({
        Type: 'Notification',
        TopicArn,
        MessageId: fired.notices[0].messageId,
      });
      expect(JSON.parse(envelope.Message)).toMatchObject({ type: 'alert.fired', ruleId });
    } finally {
      expect((await api('DELETE', `/alerts/rules/${ruleId}`)).status).toBe(204);
      await sns.send(new DeleteTopicCommand({ TopicArn }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      sns.destroy();
      sqs.destroy();
    }
  });

  it('resolve an open alert when its rule is changed, saying why', async () => {
    const created = await api('POST', '/alerts/rules', {
      name: 'always',
      condition: { metric: 'throughput', queue: 'reports', op: '>', threshold: -1 },
    });
    const { ruleId } = created.body;
    await vi.waitFor(
      async () => {
        await invokeFunction('AlertEvaluator');
        const { body } = await api('GET', `/alerts?ruleId=${ruleId}&status=firing`);
        expect(body.alerts).toHaveLength(1);
      },
      { timeout: 30_000, interval: 500 },
    );
    const patched = await api('PATCH', `/alerts/rules/${ruleId}`, {
      condition: { metric: 'throughput', queue: 'reports', op: '<', threshold: -1 },
    });
    expect(patched).toMatchObject({
      status: 200,
      body: { condition: { op: '<' }, state: { status: 'ok', breaches: 0 } },
    });
    const { body } = await api('GET', `/alerts?ruleId=${ruleId}`);
    expect(body.alerts).toMatchObject([{ status: 'resolved', resolvedBecause: 'rule changed' }]);
    expect((await api('DELETE', `/alerts/rules/${ruleId}`)).status).toBe(204);
  });
});
