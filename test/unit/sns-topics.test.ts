/**
 * The local cloud's SNS (localstack/cloud/sns-topics.ts), driven by the unchanged
 * @aws-sdk/client-sns over its query protocol: topics, SQS and HTTP subscriptions, Publish and
 * what each subscriber receives; and how the edge and the local IAM tell an SNS call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { afterAll, describe, expect, it } from 'vitest';
import { type BufferedRequest, identify } from '../../localstack/cloud/edge.ts';
import { inProcessTransport } from '../../localstack/cloud/in-process-transport.ts';
import { accessKeyIdOf, LocalIam } from '../../localstack/cloud/local-iam.ts';
import { LocalSnsTopics } from '../../localstack/cloud/sns-topics.ts';
import { TemplateResolver } from '../../localstack/cloud/template.ts';

const identity = { region: 'us-east-1', accountId: '000000000000' };
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A local SNS, a client of it, and what its subscribers were sent. */
function localSns(file?: string) {
  const sent: { to: string; body: string; headers?: Record<string, string> }[] = [];
  const topics = new LocalSnsTopics(
    identity,
    {
      sqs: async (queueArn, body) => {
        if (queueArn.endsWith(':missing')) throw new Error('The specified queue does not exist.');
        sent.push({ to: queueArn, body });
      },
      http: async (url, body, headers) => {
        sent.push({ to: url, body, headers });
      },
    },
    file,
  );
  const client = new SNSClient({
    region: identity.region,
    endpoint: 'http://127.0.0.1:4566',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: inProcessTransport({ dispatch: topics.handle }),
  });
  return { topics, client, sent };
}

describe('the local SNS', () => {
  it('creates topics (again: the same ARN), lists them and their subscriptions', async () => {
    // Prepare
    const { client } = localSns();

    // Act
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'factory-alerts' }));
    const again = await client.send(new CreateTopicCommand({ Name: 'factory-alerts' }));
    await client.send(new CreateTopicCommand({ Name: 'other' }));
    const { SubscriptionArn } = await client.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: 'arn:aws:sqs:us-east-1:000000000000:alerts',
      }),
    );
    const listed = await client.send(new ListTopicsCommand({}));
    const subscriptions = await client.send(new ListSubscriptionsByTopicCommand({ TopicArn }));

    // Assess
    expect(TopicArn).toBe('arn:aws:sns:us-east-1:000000000000:factory-alerts');
    expect(again.TopicArn).toBe(TopicArn);
    expect(listed.Topics?.map((t) => t.TopicArn)).toEqual([
      TopicArn,
      'arn:aws:sns:us-east-1:000000000000:other',
    ]);
    expect(subscriptions.Subscriptions).toEqual([
      {
        SubscriptionArn,
        Owner: '000000000000',
        Protocol: 'sqs',
        Endpoint: 'arn:aws:sqs:us-east-1:000000000000:alerts',
        TopicArn,
      },
    ]);
    expect(SubscriptionArn?.startsWith(`${TopicArn}:`)).toBe(true);
  });

  it('delivers a message to each subscription: the envelope to a queue and an HTTP endpoint, the bare message raw', async () => {
    // Prepare
    const { client, topics, sent } = localSns();
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 'factory-alerts' }));
    const subscribe = (Protocol: string, Endpoint: string, raw = false) =>
      client.send(
        new SubscribeCommand({
          TopicArn,
          Protocol,
          Endpoint,
          ...(raw ? { Attributes: { RawMessageDelivery: 'true' } } : {}),
        }),
      );
    await subscribe('sqs', 'arn:aws:sqs:us-east-1:000000000000:alerts');
    await subscribe('sqs', 'arn:aws:sqs:us-east-1:000000000000:raw', true);
    await subscribe('http', 'http://127.0.0.1:9/hook');
    await subscribe('sqs', 'arn:aws:sqs:us-east-1:000000000000:missing');

    // Act
    const { MessageId } = await client.send(
      new PublishCommand({
        TopicArn,
        Subject: 'Alert fired: backlog high',
        Message: '{"type":"alert.fired"}',
        MessageAttributes: { type: { DataType: 'String', StringValue: 'alert.fired' } },
      }),
    );

    // Assess
    expect(MessageId).toMatch(/^[0-9a-f-]{36}$/);
    const byTarget = Object.fromEntries(sent.map((s) => [s.to, s]));
    expect(JSON.parse(byTarget['arn:aws:sqs:us-east-1:000000000000:alerts']?.body ?? '{}')).toMatchObject({
      Type: 'Notification',
      MessageId,
      TopicArn,
      Subject: 'Alert fired: backlog high',
      Message: '{"type":"alert.fired"}',
      MessageAttributes: { type: { Type: 'String', Value: 'alert.fired' } },
    });
    expect(byTarget['arn:aws:sqs:us-east-1:000000000000:raw']?.body).toBe('{"type":"alert.fired"}');
    expect(byTarget['http://127.0.0.1:9/hook']?.headers).toMatchObject({
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': MessageId,
      'x-amz-sns-topic-arn': TopicArn,
    });
    const [published] = topics.published(TopicArn);
    expect(published).toMatchObject({
      messageId: MessageId,
      subject: 'Alert fired: backlog high',
      messageAttributes: { type: { DataType: 'String', Value: 'alert.fired' } },
    });
    expect(published?.deliveries.map((d) => [d.endpoint.split(':').pop(), d.delivered])).toEqual([
      ['alerts', true],
      ['raw', true],
      ['9/hook', true],
      ['missing', false],
    ]);
    expect(published?.deliveries[3]?.error).toBe('The specified queue does not exist.');
  });

  it('answers errors as SNS does', async () => {
    // Prepare
    const { client } = localSns();
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: 't' }));
    const error = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (e: Error) => e.name,
      );

    // Act / Assess
    expect(
      await error(
        client.send(
          new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:nope', Message: 'x' }),
        ),
      ),
    ).toBe('NotFoundException');
    expect(await error(client.send(new CreateTopicCommand({ Name: 'no spaces' })))).toBe(
      'InvalidParameterException',
    );
    expect(
      await error(client.send(new PublishCommand({ TopicArn, Message: 'x', Subject: 'y'.repeat(101) }))),
    ).toBe('InvalidParameterException');
    expect(
      await error(client.send(new SubscribeCommand({ TopicArn, Protocol: 'sms', Endpoint: '+15555550100' }))),
    ).toBe('InvalidParameterException');
    await client.send(new DeleteTopicCommand({ TopicArn }));
    expect(await error(client.send(new PublishCommand({ TopicArn, Message: 'x' })))).toBe(
      'NotFoundException',
    );
  });

  it('keeps topics and subscriptions across a restart, not what was published', async () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'sns-'));
    dirs.push(dir);
    const file = path.join(dir, 'sns-topics.json');
    const first = localSns(file);
    const { TopicArn } = await first.client.send(new CreateTopicCommand({ Name: 'kept' }));
    await first.client.send(
      new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: 'arn:aws:sqs:us-east-1:000000000000:q' }),
    );
    await first.client.send(new PublishCommand({ TopicArn, Message: 'before' }));

    // Act
    const second = localSns(file);
    await second.client.send(new PublishCommand({ TopicArn, Message: 'after' }));

    // Assess
    expect(second.sent.map((s) => JSON.parse(s.body).Message)).toEqual(['after']);
    expect(second.topics.published().map((m) => m.message)).toEqual(['after']);
  });
});

describe('an SNS call at the edge', () => {
  const signed = (functionName: string, form: Record<string, string>): BufferedRequest => ({
    method: 'POST',
    url: '/',
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyIdOf(functionName)}/20261201/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: Buffer.from(new URLSearchParams(form).toString()),
  });

  it('is told from an SQS query call by its signature scope, and checked against the topic ARNs a policy names', () => {
    // Prepare: a function allowed to publish to its account's topics in its region.
    const resolver = new TemplateResolver(
      {
        Resources: {
          EvaluatorRole: { Type: 'AWS::IAM::Role', Properties: {} },
          Evaluator: {
            Type: 'AWS::Lambda::Function',
            Properties: { Role: { 'Fn::GetAtt': ['EvaluatorRole', 'Arn'] } },
          },
          EvaluatorPolicy: {
            Type: 'AWS::IAM::Policy',
            Properties: {
              Roles: [{ Ref: 'EvaluatorRole' }],
              PolicyDocument: {
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: 'sns:Publish',
                    Resource: {
                      'Fn::Join': [
                        '',
                        [
                          'arn:',
                          { Ref: 'AWS::Partition' },
                          ':sns:',
                          { Ref: 'AWS::Region' },
                          ':',
                          { Ref: 'AWS::AccountId' },
                          ':*',
                        ],
                      ],
                    },
                  },
                ],
              },
            },
          },
        },
      },
      { ...identity, stackName: 'Test' },
    );
    resolver.define('Evaluator', { ref: 'Evaluator', attributes: {} });
    const iam = new LocalIam(resolver);
    const publish = signed('Evaluator', {
      Action: 'Publish',
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:factory-alerts',
      Message: 'x',
    });
    const elsewhere = signed('Evaluator', {
      Action: 'Publish',
      TopicArn: 'arn:aws:sns:eu-west-1:111111111111:theirs',
      Message: 'x',
    });
    const create = signed('Evaluator', { Action: 'CreateTopic', Name: 'mine' });
    const verdict = (request: BufferedRequest, action: string) => {
      const principal = iam.principalOf(request);
      if (!principal) throw new Error('no principal');
      return iam.check(principal, 'sns', iam.requestOf('sns', action, request));
    };

    // Act / Assess
    expect(identify(publish)).toEqual({ service: 'sns', action: 'Publish' });
    expect(
      identify({
        ...publish,
        headers: { authorization: publish.headers.authorization?.replace('/sns/', '/sqs/') },
      }),
    ).toEqual({ service: 'sqs', action: 'Publish' });
    expect(verdict(publish, 'Publish')).toBeUndefined();
    const refused = verdict(elsewhere, 'Publish');
    expect(refused?.status).toBe(403);
    expect(String(refused?.body)).toContain('<Code>AccessDenied</Code>');
    expect(verdict(create, 'CreateTopic')?.status).toBe(403);
    expect(iam.denials.map((d) => [d.action, d.resource])).toEqual([
      ['sns:Publish', 'arn:aws:sns:eu-west-1:111111111111:theirs'],
      ['sns:CreateTopic', '*'],
    ]);
  });
});
