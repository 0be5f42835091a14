/**
 * IAM, as the local cloud evaluates it from the template: a function may make the calls its role
 * allows and no others. The probes sign as a stack function (its local access key) and carry a
 * user agent of their own, so that the suite's teardown, which fails on any refused call, knows
 * they were meant.
 */
import {
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { accessKeyIdOf } from '../../localstack/cloud/local-iam.ts';
import { awsClients, localAdmin, submitJob, waitForJob } from '../helpers/factory-client.ts';
import { iamProbeAgent } from '../helpers/iam-probe.ts';

const local = inject('backend') !== 'external';
let functions: string[] = [];
let tables: string[] = [];

beforeAll(async () => {
  if (!local) return;
  const { lambda, dynamo } = awsClients();
  functions = ((await lambda.send(new ListFunctionsCommand({}))).Functions ?? []).map(
    (f) => f.FunctionName ?? '',
  );
  tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
  lambda.destroy();
  dynamo.destroy();
});

/** A DynamoDB client signing as the stack function whose logical id starts with `prefix`. */
function signingAs(prefix: string) {
  const name = functions.find((f) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(f));
  if (!name) throw new Error(`No function ${prefix}… among ${functions.join(', ')}`);
  return new DynamoDBClient({
    region: 'us-east-1',
    endpoint: inject('edgeUrl'),
    credentials: { accessKeyId: accessKeyIdOf(name), secretAccessKey: 'local' },
    customUserAgent: iamProbeAgent,
    maxAttempts: 1,
  });
}
const table = (matches: (t: string) => boolean) => {
  const found = tables.find(matches);
  if (!found) throw new Error(`No such table among ${tables.join(', ')}`);
  return found;
};
const jobsTable = () => table((t) => t.includes('TablesJobs'));
const outboxTable = () => table((t) => t.includes('TablesOutbox'));
const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (error: Error) => `${error.name}: ${error.message}`,
  );

describe.runIf(local)('IAM of the functions, evaluated locally', () => {
  let reader: DynamoDBClient;
  beforeAll(() => {
    reader = signingAs('ApiGetJob');
  });
  afterAll(() => reader?.destroy());

  it('lets GET /jobs/{jobId} read the jobs table and its indexes', async () => {
    const key = { jobId: { S: 'iam-probe' } };
    expect(await refusal(reader.send(new GetItemCommand({ TableName: jobsTable(), Key: key })))).toBe(
      'allowed',
    );
    expect(
      await refusal(
        reader.send(
          new QueryCommand({
            TableName: jobsTable(),
            IndexName: 'byQueueStatus',
            KeyConditionExpression: 'queueStatus = :q',
            ExpressionAttributeValues: { ':q': { S: 'iam-probe' } },
            Limit: 1,
          }),
        ),
      ),
    ).toBe('allowed');
  });

  it('refuses it a write to the jobs table and any read of a table it was not given, as AWS words it', async () => {
    const item = { jobId: { S: 'iam-probe' } };
    const put = await refusal(reader.send(new PutItemCommand({ TableName: jobsTable(), Item: item })));
    expect(put).toMatch(/^AccessDeniedException: User: arn:aws:sts::\d+:assumed-role\/ApiGetJobServiceRole/);
    expect(put).toContain(`is not authorized to perform: dynamodb:PutItem on resource: `);
    expect(put).toContain(`:table/${jobsTable()}`);
    const other = await refusal(
      reader.send(new GetItemCommand({ TableName: outboxTable(), Key: { pk: { S: 'x' }, sk: { S: 'x' } } })),
    );
    expect(other).toMatch(/AccessDeniedException.*dynamodb:GetItem/);
    // Nothing was written.
    const { dynamo } = awsClients();
    const stored = await dynamo.send(new GetItemCommand({ TableName: jobsTable(), Key: item }));
    dynamo.destroy();
    expect(stored.Item).toBeUndefined();
    const { denials } = await localAdmin('GET', '/iam/denials');
    expect(
      denials
        .filter((d: { userAgent: string }) => d.userAgent.includes(iamProbeAgent))
        .map((d: any) => d.action),
    ).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:GetItem']));
  });

  it("runs a job end to end on the stack's own grants: no call of any function refused", async () => {
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'iam' },
    });
    expect((await waitForJob(jobId)).status).toBe('COMPLETED');
    const { denials } = await localAdmin('GET', '/iam/denials');
    expect(denials.filter((d: { userAgent: string }) => !d.userAgent.includes(iamProbeAgent))).toEqual([]);
  });
});
