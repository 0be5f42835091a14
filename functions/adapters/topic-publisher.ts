/**
 * SNS topics the factory publishes to: an alert rule's `sns` action (alert notices). One Publish
 * per notice; the topic is the rule's, in the stack's account (the alert evaluator may publish to
 * any topic of its account and region, nothing else).
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { captured, clientDefaults } from './aws-clients.ts';

let client: SNSClient | undefined;
const sns = () => {
  client ??= captured(new SNSClient(clientDefaults));
  return client;
};

export interface TopicMessage {
  readonly topicArn: string;
  /** At most 100 printable ASCII characters (SNS's rule; e-mail subscribers see it). */
  readonly subject: string;
  readonly message: string;
  /** String message attributes, for subscription filter policies. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** Publishes a message to its topic; the message id SNS gave it. */
export async function publishToTopic(message: TopicMessage): Promise<string> {
  const { MessageId } = await sns().send(
    new PublishCommand({
      TopicArn: message.topicArn,
      Subject: message.subject,
      Message: message.message,
      MessageAttributes: Object.fromEntries(
        Object.entries(message.attributes).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: value },
        ]),
      ),
    }),
  );
  return MessageId ?? '';
}
