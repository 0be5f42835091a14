import { describe, expect, it } from 'vitest';
import type { BufferedRequest } from '../../localstack/cloud/edge.ts';
import { accessKeyIdOf, LocalIam } from '../../localstack/cloud/local-iam.ts';
import { TemplateResolver } from '../../localstack/cloud/template.ts';

const identity = { region: 'us-east-1', accountId: '000000000000', stackName: 'Test' };

/** A reader function that may read the jobs table, and a writer that may write it and send to a queue. */
function iamOf() {
  const resolver = new TemplateResolver(
    {
      Resources: {
        Jobs: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Work: { Type: 'AWS::SQS::Queue', Properties: {} },
        ReaderRole: { Type: 'AWS::IAM::Role', Properties: {} },
        WriterRole: { Type: 'AWS::IAM::Role', Properties: {} },
        Reader: {
          Type: 'AWS::Lambda::Function',
          Properties: { Role: { 'Fn::GetAtt': ['ReaderRole', 'Arn'] } },
        },
        Writer: {
          Type: 'AWS::Lambda::Function',
          Properties: { Role: { 'Fn::GetAtt': ['WriterRole', 'Arn'] } },
        },
        ReaderPolicy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            Roles: [{ Ref: 'ReaderRole' }],
            PolicyDocument: {
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
                  Resource: [
                    { 'Fn::GetAtt': ['Jobs', 'Arn'] },
                    { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Jobs', 'Arn'] }, '/index/*']] },
                  ],
                },
                { Effect: 'Allow', Action: 'xray:PutTraceSegments', Resource: '*' },
              ],
            },
          },
        },
        WriterPolicy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            Roles: [{ Ref: 'WriterRole' }],
            PolicyDocument: {
              Statement: [
                { Effect: 'Allow', Action: 'dynamodb:*', Resource: { 'Fn::GetAtt': ['Jobs', 'Arn'] } },
                { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Work', 'Arn'] } },
              ],
            },
          },
        },
      },
    },
    identity,
  );
  resolver.define('Jobs', {
    ref: 'jobs',
    attributes: { Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/jobs' },
  });
  resolver.define('Work', { ref: 'work', attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:work' } });
  for (const fn of ['Reader', 'Writer']) resolver.define(fn, { ref: fn, attributes: {} });
  return new LocalIam(resolver);
}

const signedBy = (functionName: string, service: string, target: string, body: unknown): BufferedRequest => ({
  method: 'POST',
  url: '/',
  headers: {
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyIdOf(functionName)}/20261201/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=x`,
    'x-amz-target': target,
  },
  body: Buffer.from(JSON.stringify(body)),
});

function verdict(iam: LocalIam, request: BufferedRequest, service: string, action: string) {
  const principal = iam.principalOf(request);
  if (!principal) throw new Error('no principal');
  return iam.check(principal, service, iam.requestOf(service, action, request));
}

describe('local IAM', () => {
  it("allows a function the actions its role's policies name, on their resources and indexes", () => {
    const iam = iamOf();
    const get = signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.GetItem', { TableName: 'jobs', Key: {} });
    expect(verdict(iam, get, 'dynamodb', 'GetItem')).toBeUndefined();
    const query = signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.Query', {
      TableName: 'jobs',
      IndexName: 'byQueue',
    });
    expect(verdict(iam, query, 'dynamodb', 'Query')).toBeUndefined();
    expect(iam.denials).toEqual([]);
  });

  it('refuses a write the policies do not name, as AWS answers it, and records the denial', () => {
    const iam = iamOf();
    const put = signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.PutItem', { TableName: 'jobs', Item: {} });
    const refusal = verdict(iam, put, 'dynamodb', 'PutItem');
    expect(refusal?.status).toBe(400);
    const body = JSON.parse(String(refusal?.body));
    expect(body.__type).toBe('AccessDeniedException');
    expect(body.message).toContain(
      'assumed-role/ReaderRole/Reader is not authorized to perform: dynamodb:PutItem',
    );
    expect(body.message).toContain('arn:aws:dynamodb:us-east-1:000000000000:table/jobs');
    expect(iam.denials).toMatchObject([{ functionName: 'Reader', action: 'dynamodb:PutItem' }]);
  });

  it('refuses another table, and checks every table of a batch and every item of a transaction', () => {
    const iam = iamOf();
    const other = signedBy('Writer', 'dynamodb', 'DynamoDB_20120810.UpdateItem', { TableName: 'orders' });
    expect(verdict(iam, other, 'dynamodb', 'UpdateItem')?.status).toBe(400);
    const batch = signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.BatchGetItem', {
      RequestItems: { jobs: {}, orders: {} },
    });
    expect(verdict(iam, batch, 'dynamodb', 'BatchGetItem')?.status).toBe(400);
    const transaction = (tables: string[]) =>
      signedBy('Writer', 'dynamodb', 'DynamoDB_20120810.TransactWriteItems', {
        TransactItems: tables.map((TableName) => ({ Put: { TableName, Item: {} } })),
      });
    expect(verdict(iam, transaction(['jobs', 'jobs']), 'dynamodb', 'TransactWriteItems')).toBeUndefined();
    expect(verdict(iam, transaction(['jobs', 'orders']), 'dynamodb', 'TransactWriteItems')?.status).toBe(400);
    expect(iam.denials.map((d) => d.resource)).toEqual([
      'arn:aws:dynamodb:us-east-1:000000000000:table/orders',
      'arn:aws:dynamodb:us-east-1:000000000000:table/orders',
      'arn:aws:dynamodb:us-east-1:000000000000:table/orders',
    ]);
  });

  it('gives the same verdicts when it answers from the decisions it remembers', () => {
    const iam = iamOf();
    const get = (TableName: string) =>
      signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.GetItem', { TableName, Key: {} });
    const verdicts = () => [
      verdict(iam, get('jobs'), 'dynamodb', 'GetItem')?.status,
      verdict(iam, get('orders'), 'dynamodb', 'GetItem')?.status,
      verdict(
        iam,
        signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.PutItem', { TableName: 'jobs' }),
        'dynamodb',
        'PutItem',
      )?.status,
    ];
    expect(verdicts()).toEqual([undefined, 400, 400]);
    expect(iam.principalOf(get('jobs'))?.decisions?.size).toBe(3);
    // Asked again: remembered, and a denial is still recorded each time.
    expect(verdicts()).toEqual([undefined, 400, 400]);
    expect(iam.denials).toHaveLength(4);
    // The writer's decisions are its own.
    expect(
      verdict(
        iam,
        signedBy('Writer', 'dynamodb', 'DynamoDB_20120810.PutItem', { TableName: 'jobs' }),
        'dynamodb',
        'PutItem',
      ),
    ).toBeUndefined();
  });

  it('matches wildcard actions and names a batch send by its single action', () => {
    const iam = iamOf();
    const send = signedBy('Writer', 'sqs', 'AmazonSQS.SendMessageBatch', {
      QueueUrl: 'http://localhost:4566/000000000000/work',
    });
    expect(verdict(iam, send, 'sqs', 'SendMessageBatch')).toBeUndefined();
    const elsewhere = signedBy('Writer', 'sqs', 'AmazonSQS.SendMessage', {
      QueueUrl: 'http://localhost:4566/000000000000/other',
    });
    expect(verdict(iam, elsewhere, 'sqs', 'SendMessage')?.status).toBe(400);
    const scan = signedBy('Writer', 'dynamodb', 'DynamoDB_20120810.Scan', { TableName: 'jobs' });
    expect(verdict(iam, scan, 'dynamodb', 'Scan')).toBeUndefined();
  });

  it("leaves callers that are not the stack's functions (the local cloud itself) unchecked", () => {
    const iam = iamOf();
    const own = { ...signedBy('Reader', 'dynamodb', 'DynamoDB_20120810.PutItem', {}) };
    own.headers.authorization = 'AWS4-HMAC-SHA256 Credential=test/20261201/us-east-1/dynamodb/aws4_request';
    expect(iam.principalOf(own)).toBeUndefined();
  });
});
