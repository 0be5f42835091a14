/**
 * One client per service per execution environment, created on first use. Endpoints come from
 * the standard AWS_ENDPOINT_URL(_<SERVICE>) variables, which is how the local cloud points the
 * unchanged code at its emulators. Every client is `captured`: on Lambda its calls are X-Ray
 * subsegments (shared/tracer.ts); where nothing is traced it is the client as created.
 */

import { createRequire } from 'node:module';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { BatchGetCommand, type BatchGetCommandOutput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Logger, RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { captured } from '#shared/tracer';

export { captured };

const maxRetries = 6;
const baseDelayMs = 100;
const maxDelayMs = 2000;

const retryToken = (count: number, delayMs: number): RetryToken => ({
  getRetryCount: () => count,
  getRetryDelay: () => delayMs,
});

/**
 * Transient faults of AWS (throttling, a 5xx, a dropped connection) are retried with full-jitter
 * backoff, 6 times over about 5 s, and never become a failed attempt of a job. Unlike the SDK's
 * standard strategy there is no retry quota, which a minute of faults would drain; a request the
 * service refused (4xx) is not retried.
 */
export const patientRetry: RetryStrategyV2 = {
  acquireInitialRetryToken: async () => retryToken(0, 0),
  refreshRetryTokenForRetry: async (previous: RetryToken, info: RetryErrorInfo) => {
    const count = previous.getRetryCount() + 1;
    if (info.errorType === 'CLIENT_ERROR' || count > maxRetries) throw info.error ?? new Error('No retry');
    return retryToken(count, Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (count - 1)));
  },
  recordSuccess: () => undefined,
};

/**
 * The SDK's logger, without `info`. The SDK's logger middleware copies every call's input and
 * output with sensitive fields masked and hands the copy to `logger.info` — a no-op by default —
 * and skips the copy only when there is no `info` (`logger?.info?.(…)`). For a batch write of 25
 * items that copy was ~5 % of the bulk intake's CPU, on Lambda as here. Nothing else in the SDK
 * calls `info`; its warnings and errors go nowhere, as with its default logger.
 */
const quietSdkLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined } as Omit<
  Logger,
  'info'
> as Logger;

/**
 * What every client of the factory is created with. `cacheMiddleware`: a client resolves a
 * command's middleware stack once per command class instead of on every call (collecting and
 * sorting some 30 middlewares each time). Nothing in the factory adds middleware to a command.
 */
export const clientDefaults = {
  retryStrategy: patientRetry,
  logger: quietSdkLogger,
  cacheMiddleware: true,
} as const;

let documentClient: DynamoDBDocumentClient | undefined;
let itemClient: DynamoDBClient | undefined;
let sfnClient: SFNClient | undefined;

const marshallOptions = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;

export function dynamo(): DynamoDBDocumentClient {
  // The document layer adds its marshalling middleware to each call's command, so it refuses a
  // client that caches middleware.
  documentClient ??= DynamoDBDocumentClient.from(
    captured(new DynamoDBClient({ ...clientDefaults, cacheMiddleware: false })),
    // A copy: the document layer writes its defaults into the options object it is given.
    { marshallOptions: { ...marshallOptions } },
  );
  return documentClient;
}

/**
 * DynamoDB without the document layer, for the calls every job makes (its row's claim and
 * settle, its log line). The document layer resolves each call's middleware anew; through this
 * client an UpdateItem took ~385 µs of CPU instead of ~465 µs (a loop of 4,000 against a canned
 * server in the same process, server included), on Lambda as here. Values go in and out through
 * `asAttributes` and `fromAttributes`, with the document client's options.
 */
export function dynamoItems(): DynamoDBClient {
  itemClient ??= captured(new DynamoDBClient(clientDefaults));
  return itemClient;
}

export const asAttributes = (value: Record<string, unknown>) => marshall(value, marshallOptions);
export const fromAttributes = unmarshall;

/**
 * One BatchWriteItem's requests, written until DynamoDB has processed them all: what it leaves
 * unprocessed (throttling) is written again after 100, 200, … 1,600 ms; what is still unprocessed
 * after five retries throws, naming `what` was left.
 */
export async function writeUntilProcessed<R>(
  requests: readonly R[],
  write: (requests: R[]) => Promise<R[] | undefined>,
  what: string,
): Promise<void> {
  let left = [...requests];
  for (let attempt = 0; left.length > 0; attempt++) {
    if (attempt > 0) {
      if (attempt > 5) throw new Error(`${left.length} ${what} left unprocessed by BatchWriteItem`);
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
    left = (await write(left)) ?? [];
  }
}

/**
 * The items of a table with a plain (hash-only) key `keyName`, for these key values (each once),
 * 100 to a BatchGetItem; what DynamoDB leaves unprocessed is asked for again. Items that do not
 * exist are missing from the answer.
 */
export async function itemsByKey(
  tableName: string,
  keyName: string,
  values: readonly string[],
  options: { readonly consistent: boolean },
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const unique = [...new Set(values)];
  for (let i = 0; i < unique.length; i += 100) {
    let keys: Record<string, unknown>[] | undefined = unique
      .slice(i, i + 100)
      .map((value) => ({ [keyName]: value }));
    while (keys && keys.length > 0) {
      const { Responses, UnprocessedKeys }: BatchGetCommandOutput = await dynamo().send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: { Keys: keys, ...(options.consistent ? { ConsistentRead: true } : {}) },
          },
        }),
      );
      items.push(...(Responses?.[tableName] ?? []));
      keys = UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return items;
}

/**
 * An SDK package loaded at its first use, not at every cold start: every function imports the
 * adapters, few call Step Functions or S3 (each package is ~20–45 ms of a fresh environment's
 * init). require() finds the runtime's SDK on Lambda and the repository's here; esbuild leaves
 * a call through createRequire as it is, so the package is not bundled either.
 */
export const loadedOnFirstUse = <Sdk>(name: string): (() => Sdk) => {
  let sdk: Sdk | undefined;
  return () => {
    sdk ??= createRequire(import.meta.url)(name) as Sdk;
    return sdk;
  };
};

/** The Step Functions SDK (commands, client), loaded at its first use. */
export const stepFunctionsSdk = loadedOnFirstUse<typeof import('@aws-sdk/client-sfn')>('@aws-sdk/client-sfn');

export function stepFunctions(): SFNClient {
  sfnClient ??= captured(new (stepFunctionsSdk().SFNClient)(clientDefaults));
  return sfnClient;
}

export const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && error.name === 'ConditionalCheckFailedException';
