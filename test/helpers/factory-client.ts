/** What a client of the factory does: HTTP calls, and AWS calls against the local endpoint. */
import { DynamoDBClient, ListTablesCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';

type Keys = Partial<Record<'admin' | 'developer' | 'viewer', string>>;
let target: { apiUrl: string; edgeUrl: string; keys?: Keys } | undefined;
/** Points the helpers at another factory: a test file's own local cloud. */
export function useFactory(factory: { apiUrl: string; edgeUrl: string; keys?: Keys } | undefined): void {
  target = factory;
}
const apiUrl = () => target?.apiUrl ?? inject('apiUrl');
const edgeUrl = () => target?.edgeUrl ?? inject('edgeUrl');
/** The factory's key of a role, as npm start issued it. */
export const keyOf = (role: keyof Keys): string => {
  const key = (target?.keys ?? (inject('keys') as Keys))[role];
  if (!key) throw new Error(`The factory under test has no ${role} key`);
  return key;
};
/** The Authorization header of a role's key. */
export const bearer = (role: keyof Keys = 'admin') => ({ authorization: `Bearer ${keyOf(role)}` });

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
}

export async function api<T = any>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  // The admin key unless the call brings its own Authorization ('' sends none).
  const withKey = { ...bearer('admin'), ...headers };
  if (withKey.authorization === '') delete (withKey as Record<string, string>).authorization;
  const response = await fetch(`${apiUrl()}${path}`, {
    method,
    headers: body === undefined ? withKey : { 'content-type': 'application/json', ...withKey },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return { status: response.status, body: parsed as T };
}

export const specificationsFor: Record<string, Record<string, unknown>> = {
  welder: { reachMm: 1800, payloadKg: 12.5, weldingProcess: 'mig' },
  courier: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
  companion: { heightCm: 60, personality: 'witty', language: 'en' },
};

export async function placeOrder(robotType: string, extra: Record<string, unknown> = {}) {
  const response = await api('POST', '/orders', {
    customerId: 'cust-integration',
    robotType,
    specifications: specificationsFor[robotType],
    simulate: { stepDurationMs: 20 },
    ...extra,
  });
  if (response.status !== 202)
    throw new Error(`Order rejected: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { orderId: string; status: string; statusUrl: string };
}

/** Polls the status endpoint until the order is finished (or the time runs out). */
export async function waitForOrder(orderId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api('GET', `/orders/${orderId}/status`);
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(body.status)) return body;
    if (Date.now() > deadline)
      throw new Error(`Order ${orderId} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function awsClients() {
  const config = {
    region: 'us-east-1',
    endpoint: edgeUrl(),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  return { sqs: new SQSClient(config), lambda: new LambdaClient(config), dynamo: new DynamoDBClient(config) };
}

/** The factory's table whose name matches: the stack names them `…<Logical>…`. */
export async function tableNamed(
  dynamo: DynamoDBClient,
  matches: (name: string) => boolean,
): Promise<string> {
  const { TableNames = [] } = await dynamo.send(new ListTablesCommand({}));
  const table = TableNames.find(matches);
  if (!table) throw new Error(`No table matches among ${TableNames.join(', ')}`);
  return table;
}

/**
 * Makes a stored job (submitted with a long delay, so nothing was sent for it yet) what an
 * invocation that died before hiding its batch leaves: due `agoMs` ago, its one wake-up out of
 * every worker's reach, as if there were none.
 */
export async function dueWithWakeUpHeld(
  dynamo: DynamoDBClient,
  jobId: string,
  priority: number,
  agoMs: number,
): Promise<void> {
  const runAt = new Date(Date.now() - agoMs).toISOString();
  await dynamo.send(
    new UpdateItemCommand({
      TableName: await tableNamed(dynamo, (t) => t.includes('Jobs') && !t.includes('Logs')),
      Key: { jobId: { S: jobId } },
      UpdateExpression: 'SET runAt = :runAt, readyRank = :rank REMOVE dispatchAt, dispatchShard',
      ExpressionAttributeValues: {
        ':runAt': { S: runAt },
        ':rank': { S: `${String(priority).padStart(2, '0')}#${runAt}#${jobId}` },
      },
    }),
  );
}

export type Job = Record<string, any> & { jobId: string; status: string };

/** Submits one job; fails the test on anything but 202/200. */
export async function submitJob(
  job: Record<string, unknown>,
): Promise<{ jobId: string; status: string; duplicate: boolean }> {
  const response = await api('POST', '/jobs', job);
  if (response.status !== 202 && response.status !== 200)
    throw new Error(`Job rejected: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

export async function getJob(jobId: string): Promise<Job> {
  const { status, body } = await api('GET', `/jobs/${jobId}`);
  if (status !== 200) throw new Error(`GET /jobs/${jobId}: ${status} ${JSON.stringify(body)}`);
  return body;
}

/** Polls a job until `done` holds (default: it finished), or fails with its last state. */
export async function waitForJob(
  jobId: string,
  done: (job: Job) => boolean = (job) => ['COMPLETED', 'DEAD', 'CANCELLED'].includes(job.status),
  timeoutMs = 60_000,
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(jobId);
    if (done(job)) return job;
    if (Date.now() > deadline)
      throw new Error(`Job ${jobId} not there after ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type JobLogLine = { message: string; level: string; timestamp: string; attempt: number; workerId?: string };

export async function jobLog(jobId: string): Promise<JobLogLine[]> {
  const { body } = await api('GET', `/jobs/${jobId}/logs`);
  return body.entries ?? body.logs ?? body;
}

/**
 * A job's log once `ready` holds for it. A job worker writes its lines in batches (JobLogBatcher),
 * so an attempt's last lines may reach the log shortly after the job's final state.
 */
export async function jobLogOnce(
  jobId: string,
  ready: (lines: JobLogLine[]) => boolean,
  timeoutMs = 15_000,
): Promise<JobLogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await jobLog(jobId);
    if (ready(lines)) return lines;
    if (Date.now() > deadline)
      throw new Error(`Job ${jobId}'s log not as awaited after ${timeoutMs} ms: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Invokes a function of the stack by (part of) its name, through the Lambda API. */
export async function invokeFunction(nameContains: string, payload: unknown = {}): Promise<any> {
  const { lambda } = awsClients();
  try {
    const { ListFunctionsCommand, InvokeCommand } = await import('@aws-sdk/client-lambda');
    const { Functions } = await lambda.send(new ListFunctionsCommand({}));
    const name = Functions?.find((f) => f.FunctionName?.includes(nameContains))?.FunctionName;
    if (!name) throw new Error(`No function named like ${nameContains}`);
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)) }),
    );
    const text = Buffer.from(result.Payload ?? []).toString();
    if (result.FunctionError) throw new Error(`${name} failed: ${text}`);
    return text ? JSON.parse(text) : undefined;
  } finally {
    lambda.destroy();
  }
}

/** The local cloud's test hooks (/__local on the AWS endpoint). */
export async function localAdmin(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${edgeUrl()}/__local${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} /__local${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function functionNamed(nameContains: string): Promise<string> {
  const { lambda } = awsClients();
  try {
    const { ListFunctionsCommand } = await import('@aws-sdk/client-lambda');
    const { Functions } = await lambda.send(new ListFunctionsCommand({}));
    const name = Functions?.find((f) => f.FunctionName?.includes(nameContains))?.FunctionName;
    if (!name) throw new Error(`No function named like ${nameContains}`);
    return name;
  } finally {
    lambda.destroy();
  }
}

/** A unique tag per test run, to find one's own jobs among other tests'. */
export const runTag = (label: string) =>
  `${label}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/**
 * Events GET /events lists for a query, following its cursor until `enough` holds of what was
 * seen or the pages stop moving (a page reads a bounded number of publications, so in a busy
 * minute a page can hold none of the filtered events and still not be the last).
 */
export async function eventsListed<E = Record<string, any>>(
  query: string,
  enough: (seen: E[]) => boolean,
  maxPages = 300,
): Promise<E[]> {
  const seen: E[] = [];
  let after: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const { status, body } = await api('GET', `/events?${query}${after ? `&after=${after}` : ''}`);
    if (status !== 200) throw new Error(`GET /events?${query}: ${status} ${JSON.stringify(body)}`);
    seen.push(...body.events);
    if (enough(seen) || !body.nextCursor || body.nextCursor === after) break;
    // Caught up with the present: nothing more to read this time.
    // (An event id starts with its publication time, base 36 in nine digits.)
    const cursorAt = Number.parseInt(String(body.nextCursor).slice(0, 9), 36);
    if (body.events.length === 0 && Date.now() - cursorAt < 5_000) break;
    after = body.nextCursor;
  }
  return seen;
}
