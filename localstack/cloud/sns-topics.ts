/**
 * SNS for the local cloud (both backends), the subset the factory and its users need: topics
 * (CreateTopic, DeleteTopic, ListTopics), subscriptions of SQS queues and HTTP(S) endpoints
 * (Subscribe, Unsubscribe, ListSubscriptionsByTopic) and Publish, on SNS's query protocol (form
 * parameters in, XML out) so the unchanged @aws-sdk/client-sns talks to it. A message published
 * is delivered to every subscription of its topic — an SQS queue gets SNS's JSON envelope (or
 * the bare message with RawMessageDelivery), an HTTP endpoint a POST of the envelope with SNS's
 * `x-amz-sns-*` headers — and kept, with how each delivery went, for
 * `GET /__local/sns/published` (the latest 1,000).
 *
 * Differences from AWS, on purpose: an HTTP subscription is confirmed at once (no
 * SubscriptionConfirmation round), envelopes carry no signature, a delivery is tried once, and
 * queue policies are not checked (local-iam.ts evaluates the publisher's own policy only).
 * Topics and subscriptions are kept in a small file under the data directory across restarts;
 * what was published is not.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import { replaceFile } from './journal.ts';

interface Subscription {
  readonly subscriptionArn: string;
  readonly topicArn: string;
  readonly protocol: 'sqs' | 'http' | 'https';
  readonly endpoint: string;
  readonly raw: boolean;
}

interface Topic {
  readonly topicArn: string;
  readonly name: string;
  readonly attributes: Record<string, string>;
}

export interface Delivery {
  readonly subscriptionArn: string;
  readonly protocol: string;
  readonly endpoint: string;
  readonly delivered: boolean;
  readonly error?: string;
}

export interface PublishedMessage {
  readonly messageId: string;
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
  readonly messageAttributes: Record<string, { readonly DataType: string; readonly Value: string }>;
  readonly publishedAt: string;
  readonly deliveries: readonly Delivery[];
}

/** How a message reaches a subscriber: an SQS queue by its ARN, an HTTP endpoint by its URL. */
export interface SnsDelivery {
  sqs(queueArn: string, body: string): Promise<void>;
  http(url: string, body: string, headers: Record<string, string>): Promise<void>;
}

/** Delivery through the local cloud's own SQS client (whichever data plane serves SQS) and fetch. */
export function deliveryThrough(sqs: SQSClient): SnsDelivery {
  return {
    sqs: async (queueArn, body) => {
      const [, , , , account, name] = queueArn.split(':');
      const { QueueUrl } = await sqs.send(
        new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
      );
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    },
    http: async (url, body, headers) => {
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(15_000),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    },
  };
}

const xmlns = 'http://sns.amazonaws.com/doc/2010-03-31/';
const maxMessageBytes = 256 * 1024;
const keptMessages = 1000;

const escapeXml = (value: string) =>
  value.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

class SnsError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The query protocol's lists and maps: `Prefix.member.N`, `Prefix.entry.N.Name|Value…`. */
function entriesOf(form: URLSearchParams, prefix: string): Map<number, Record<string, string>> {
  const entries = new Map<number, Record<string, string>>();
  for (const [key, value] of form) {
    const match = new RegExp(`^${prefix.replace('.', '\\.')}\\.entry\\.(\\d+)\\.(.+)$`).exec(key);
    if (!match) continue;
    const n = Number(match[1]);
    entries.set(n, { ...entries.get(n), [match[2] as string]: value });
  }
  return entries;
}

export class LocalSnsTopics {
  private readonly topics = new Map<string, Topic>();
  private readonly subscriptions = new Map<string, Subscription>();
  /** The latest messages published, oldest first. */
  private readonly messages: PublishedMessage[] = [];

  constructor(
    private readonly identity: { region: string; accountId: string },
    private readonly delivery: SnsDelivery,
    /** Where topics and subscriptions are kept across restarts (none: in memory). */
    private readonly file?: string,
  ) {
    if (file && existsSync(file)) {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as {
        topics?: Topic[];
        subscriptions?: Subscription[];
      };
      for (const topic of saved.topics ?? []) this.topics.set(topic.topicArn, topic);
      for (const s of saved.subscriptions ?? []) this.subscriptions.set(s.subscriptionArn, s);
    }
  }

  /** What was published (to one topic, when named), newest first. */
  published(topicArn?: string): PublishedMessage[] {
    return this.messages.filter((m) => !topicArn || m.topicArn === topicArn).reverse();
  }

  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const form = new URLSearchParams(request.body.toString());
    const action = form.get('Action') ?? '';
    try {
      const result = await this.serve(action, form);
      return this.reply(
        200,
        `<${action}Response xmlns="${xmlns}">${result === undefined ? '' : `<${action}Result>${result}</${action}Result>`}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
      );
    } catch (error) {
      const e =
        error instanceof SnsError ? error : new SnsError(500, 'InternalError', (error as Error).message);
      return this.reply(
        e.status,
        `<ErrorResponse xmlns="${xmlns}"><Error><Type>${e.status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
    }
  };

  private reply(status: number, xml: string): ServiceResponse {
    return { status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?>\n${xml}` };
  }

  private required(form: URLSearchParams, name: string): string {
    const value = form.get(name);
    if (!value) throw new SnsError(400, 'InvalidParameter', `Invalid parameter: ${name} is required`);
    return value;
  }

  private topic(arn: string): Topic {
    const topic = this.topics.get(arn);
    if (!topic) throw new SnsError(404, 'NotFound', 'Topic does not exist');
    return topic;
  }

  /** The action's result elements (XML), or undefined when it has none. */
  private async serve(action: string, form: URLSearchParams): Promise<string | undefined> {
    switch (action) {
      case 'CreateTopic': {
        const name = this.required(form, 'Name');
        if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name))
          throw new SnsError(
            400,
            'InvalidParameter',
            'Invalid parameter: Topic Name must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.',
          );
        const topicArn = `arn:aws:sns:${this.identity.region}:${this.identity.accountId}:${name}`;
        // Creating an existing topic answers its ARN (CreateTopic is idempotent).
        if (!this.topics.has(topicArn)) {
          const attributes = Object.fromEntries(
            [...entriesOf(form, 'Attributes').values()].map((e) => [e.key ?? '', e.value ?? '']),
          );
          this.topics.set(topicArn, { topicArn, name, attributes });
          this.save();
        }
        return `<TopicArn>${escapeXml(topicArn)}</TopicArn>`;
      }
      case 'DeleteTopic': {
        const topicArn = this.required(form, 'TopicArn');
        this.topics.delete(topicArn);
        for (const [arn, s] of this.subscriptions)
          if (s.topicArn === topicArn) this.subscriptions.delete(arn);
        this.save();
        return undefined;
      }
      case 'ListTopics': {
        const all = [...this.topics.keys()].sort();
        const start = Number(form.get('NextToken') ?? 0) || 0;
        const page = all.slice(start, start + 100);
        const next = start + 100 < all.length ? `<NextToken>${start + 100}</NextToken>` : '';
        return `<Topics>${page.map((arn) => `<member><TopicArn>${escapeXml(arn)}</TopicArn></member>`).join('')}</Topics>${next}`;
      }
      case 'Subscribe': {
        const topic = this.topic(this.required(form, 'TopicArn'));
        const protocol = this.required(form, 'Protocol');
        const endpoint = this.required(form, 'Endpoint');
        if (protocol !== 'sqs' && protocol !== 'http' && protocol !== 'https')
          throw new SnsError(
            400,
            'InvalidParameter',
            `Invalid parameter: the local cloud delivers to sqs, http and https, not ${protocol}`,
          );
        if (protocol === 'sqs' && !/^arn:aws[\w-]*:sqs:[\w-]+:\d{12}:[\w.-]+$/.test(endpoint))
          throw new SnsError(400, 'InvalidParameter', 'Invalid parameter: SQS endpoint ARN');
        if (protocol !== 'sqs' && !endpoint.startsWith(`${protocol}://`))
          throw new SnsError(
            400,
            'InvalidParameter',
            `Invalid parameter: Endpoint must match the specified protocol`,
          );
        const attributes = Object.fromEntries(
          [...entriesOf(form, 'Attributes').values()].map((e) => [e.key ?? '', e.value ?? '']),
        );
        const existing = [...this.subscriptions.values()].find(
          (s) => s.topicArn === topic.topicArn && s.protocol === protocol && s.endpoint === endpoint,
        );
        const subscription: Subscription = existing ?? {
          subscriptionArn: `${topic.topicArn}:${randomUUID()}`,
          topicArn: topic.topicArn,
          protocol,
          endpoint,
          raw: attributes.RawMessageDelivery === 'true',
        };
        this.subscriptions.set(subscription.subscriptionArn, subscription);
        this.save();
        return `<SubscriptionArn>${escapeXml(subscription.subscriptionArn)}</SubscriptionArn>`;
      }
      case 'Unsubscribe': {
        const arn = this.required(form, 'SubscriptionArn');
        if (!this.subscriptions.delete(arn))
          throw new SnsError(404, 'NotFound', 'Subscription does not exist');
        this.save();
        return undefined;
      }
      case 'ListSubscriptionsByTopic': {
        const topic = this.topic(this.required(form, 'TopicArn'));
        const members = [...this.subscriptions.values()]
          .filter((s) => s.topicArn === topic.topicArn)
          .map(
            (s) =>
              `<member><SubscriptionArn>${escapeXml(s.subscriptionArn)}</SubscriptionArn><Owner>${this.identity.accountId}</Owner><Protocol>${s.protocol}</Protocol><Endpoint>${escapeXml(s.endpoint)}</Endpoint><TopicArn>${escapeXml(s.topicArn)}</TopicArn></member>`,
          );
        return `<Subscriptions>${members.join('')}</Subscriptions>`;
      }
      case 'Publish':
        return `<MessageId>${await this.publish(form)}</MessageId>`;
      default:
        throw new SnsError(400, 'InvalidAction', `The local SNS does not serve ${action || 'this request'}`);
    }
  }

  private async publish(form: URLSearchParams): Promise<string> {
    if (form.get('TargetArn') || form.get('PhoneNumber'))
      throw new SnsError(
        400,
        'InvalidParameter',
        'Invalid parameter: the local SNS publishes to topics only (TopicArn)',
      );
    const topic = this.topic(this.required(form, 'TopicArn'));
    const message = this.required(form, 'Message');
    if (Buffer.byteLength(message) > maxMessageBytes)
      throw new SnsError(400, 'InvalidParameter', 'Invalid parameter: Message too long');
    const subject = form.get('Subject') ?? undefined;
    if (subject !== undefined && (subject.length > 100 || !/^[\x20-\x7e]+$/.test(subject)))
      throw new SnsError(
        400,
        'InvalidParameter',
        'Invalid parameter: Subject must be ASCII text that begins with a letter, number, or punctuation mark; must not include line breaks or control characters; and must be less than 100 characters long',
      );
    const messageAttributes = Object.fromEntries(
      [...entriesOf(form, 'MessageAttributes').values()].map((e) => [
        e.Name ?? '',
        {
          DataType: e['Value.DataType'] ?? 'String',
          Value: e['Value.StringValue'] ?? e['Value.BinaryValue'] ?? '',
        },
      ]),
    );
    const messageId = randomUUID();
    const publishedAt = new Date().toISOString();
    const envelope = (subscription: Subscription) =>
      JSON.stringify({
        Type: 'Notification',
        MessageId: messageId,
        TopicArn: topic.topicArn,
        ...(subject ? { Subject: subject } : {}),
        Message: message,
        Timestamp: publishedAt,
        SignatureVersion: '1',
        Signature: 'local',
        SigningCertURL: 'about:blank',
        UnsubscribeURL: `about:blank?Action=Unsubscribe&SubscriptionArn=${subscription.subscriptionArn}`,
        ...(Object.keys(messageAttributes).length
          ? {
              MessageAttributes: Object.fromEntries(
                Object.entries(messageAttributes).map(([name, a]) => [
                  name,
                  { Type: a.DataType, Value: a.Value },
                ]),
              ),
            }
          : {}),
      });
    const targets = [...this.subscriptions.values()].filter((s) => s.topicArn === topic.topicArn);
    const deliveries = await Promise.all(
      targets.map(async (s): Promise<Delivery> => {
        const body = s.raw ? message : envelope(s);
        try {
          if (s.protocol === 'sqs') await this.delivery.sqs(s.endpoint, body);
          else
            await this.delivery.http(s.endpoint, body, {
              'content-type': 'text/plain; charset=UTF-8',
              'x-amz-sns-message-type': 'Notification',
              'x-amz-sns-message-id': messageId,
              'x-amz-sns-topic-arn': topic.topicArn,
              'x-amz-sns-subscription-arn': s.subscriptionArn,
            });
          return {
            subscriptionArn: s.subscriptionArn,
            protocol: s.protocol,
            endpoint: s.endpoint,
            delivered: true,
          };
        } catch (error) {
          return {
            subscriptionArn: s.subscriptionArn,
            protocol: s.protocol,
            endpoint: s.endpoint,
            delivered: false,
            error: (error as Error).message,
          };
        }
      }),
    );
    this.messages.push({
      messageId,
      topicArn: topic.topicArn,
      ...(subject ? { subject } : {}),
      message,
      messageAttributes,
      publishedAt,
      deliveries,
    });
    if (this.messages.length > keptMessages) this.messages.splice(0, this.messages.length - keptMessages);
    return messageId;
  }

  private save(): void {
    if (!this.file) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    replaceFile(
      this.file,
      JSON.stringify({ topics: [...this.topics.values()], subscriptions: [...this.subscriptions.values()] }),
    );
  }
}
