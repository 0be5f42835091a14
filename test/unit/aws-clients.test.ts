/**
 * The SDK clients of the adapters (functions/adapters/aws-clients.ts): the item client and the
 * document client marshal the same values the same way, side by side in one environment, and the
 * item client resolves its middleware once per command class.
 */
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAttributes, dynamo, dynamoItems, fromAttributes } from '../../functions/adapters/aws-clients.ts';
import { type CannedCall, startCannedDynamo } from '../helpers/canned-dynamo.ts';

/** A canned DynamoDB: records each call's target and body, answers `{}`. */
let dynamoDb: Awaited<ReturnType<typeof startCannedDynamo>>;
let calls: CannedCall[] = [];

beforeAll(async () => {
  dynamoDb = await startCannedDynamo();
  calls = dynamoDb.calls;
});

afterAll(() => dynamoDb.close());

describe('the item client beside the document client', () => {
  it('writes the same item as the document client, after the document client has been used', async () => {
    // Arrange: the document layer writes defaults into the marshalling options it is given; the
    // item client's values must not pick them up (they once came out wrapped as one map).
    const item = { jobId: 'job_1', attempts: 2, payload: { to: 'ada@example.com' }, gone: undefined };
    await dynamo().send(new PutCommand({ TableName: 'Jobs', Item: item }));

    // Act
    await dynamoItems().send(new PutItemCommand({ TableName: 'Jobs', Item: asAttributes(item) }));

    // Assert
    const [viaDocument, viaItems] = calls.slice(-2).map((call) => call.body.Item);
    expect(viaItems).toEqual({
      jobId: { S: 'job_1' },
      attempts: { N: '2' },
      payload: { M: { to: { S: 'ada@example.com' } } },
    });
    expect(viaItems).toEqual(viaDocument);
  });

  it('sends each call with its own input when the middleware is cached', async () => {
    // Act: two calls of one command class, through the handler resolved for the first.
    await dynamoItems().send(new GetItemCommand({ TableName: 'Jobs', Key: asAttributes({ jobId: 'a' }) }));
    await dynamoItems().send(new GetItemCommand({ TableName: 'Jobs', Key: asAttributes({ jobId: 'b' }) }));

    // Assert
    expect(calls.slice(-2).map((call) => call.body.Key)).toEqual([
      { jobId: { S: 'a' } },
      { jobId: { S: 'b' } },
    ]);
    expect(fromAttributes({ n: { N: '3' }, s: { S: 'x' } })).toEqual({ n: 3, s: 'x' });
  });
});
