/**
 * The service integrations our state machines use, implemented with the AWS SDK against the
 * local cloud's own endpoint, with the error names Step Functions gives them on AWS.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface IntegrationClients {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBClient;
}

export class TaskError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const serviceError = (service: string, error: unknown): TaskError => {
  const e = error as Error;
  return new TaskError(`${service}.${e.name ?? 'AmazonServiceException'}`, e.message);
};

export async function sendMessage(clients: IntegrationClients, parameters: Record<string, unknown>) {
  const body = parameters.MessageBody;
  try {
    const result = await clients.sqs.send(
      new SendMessageCommand({
        ...parameters,
        QueueUrl: String(parameters.QueueUrl),
        MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
      } as never),
    );
    return { MessageId: result.MessageId, MD5OfMessageBody: result.MD5OfMessageBody };
  } catch (error) {
    throw serviceError('SQS', error);
  }
}

export async function dynamodbCall(
  clients: IntegrationClients,
  action: string,
  parameters: Record<string, unknown>,
) {
  const commands = {
    updateItem: UpdateItemCommand,
    putItem: PutItemCommand,
    getItem: GetItemCommand,
    deleteItem: DeleteItemCommand,
  } as const;
  const Command = commands[action as keyof typeof commands] as unknown as
    | (new (
        input: never,
      ) => never)
    | undefined;
  if (!Command)
    throw new TaskError('States.Runtime', `dynamodb:${action} is not supported by the local cloud`);
  try {
    const { $metadata: _metadata, ...result } = (await clients.dynamodb.send(
      new Command(parameters as never),
    )) as unknown as Record<string, unknown>;
    return result;
  } catch (error) {
    throw serviceError('DynamoDB', error);
  }
}
