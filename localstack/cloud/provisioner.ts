/**
 * Creates the template's resources in the local data plane, through the AWS APIs, and records
 * their physical names so the resolver can fill in Ref and Fn::GetAtt. Resource types the local
 * cloud does not need (IAM, log groups, permissions) are skipped: it does not enforce IAM.
 */

import * as path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { busNameOf, type LocalArchive, type LocalEventBus, type LocalEventRule } from './event-buses.ts';
import type { LocalRoute } from './http-api.ts';
import { brokenAuthorizer, type LocalAuthorizer } from './http-authorizer.ts';
import type { LocalFunction } from './lambda-runtime.ts';
import { accessKeyIdOf } from './local-iam.ts';
import type { LocalSchedule } from './schedules.ts';
import type { StreamMapping } from './stream-pollers.ts';
import type { TemplateResolver } from './template.ts';
import type { TtlTable } from './ttl-sweeper.ts';
import type { LocalWebSocketApi } from './websocket-api.ts';

type Props = Record<string, unknown>;

export interface ProvisionClients {
  readonly s3: S3Client;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sfn: SFNClient;
}

export interface ProvisionedStack {
  readonly tables: string[];
  readonly buckets: string[];
  readonly queues: { logicalId: string; name: string; url: string; arn: string }[];
  readonly stateMachines: { logicalId: string; arn: string }[];
  readonly functions: LocalFunction[];
  readonly eventSourceMappings: {
    logicalId: string;
    functionName: string;
    queueUrl: string;
    queueArn: string;
    batchSize: number;
    reportBatchItemFailures: boolean;
    maximumConcurrency: number;
    enabled: boolean;
  }[];
  readonly streamMappings: StreamMapping[];
  readonly routes: LocalRoute[];
  /** Tables with a TTL attribute: the local cloud expires their rows itself. */
  readonly ttlTables: readonly TtlTable[];
  readonly api?: {
    logicalId: string;
    cors?: { allowOrigins: string[]; allowMethods: string[]; allowHeaders: string[] };
  };
  readonly schedules: LocalSchedule[];
  readonly webSocketApis: LocalWebSocketApi[];
  readonly eventBuses: LocalEventBus[];
  readonly eventRules: LocalEventRule[];
  readonly archives: LocalArchive[];
  readonly warnings: string[];
}

export async function provision(
  resolver: TemplateResolver,
  clients: ProvisionClients,
  options: {
    assemblyDir: string;
    apiUrl: string;
    /** The edge's address: WebSocket APIs are served there. */
    edgeUrl: string;
    baseEnvironment: Record<string, string>;
    supportsTtl: boolean;
  },
): Promise<ProvisionedStack> {
  const { region, accountId } = resolver.identity;
  const warnings: string[] = [];

  const tables: string[] = [];
  const streamArns = new Set<string>();
  const ttlTables: TtlTable[] = [];
  await Promise.all(
    resolver.resourcesOfType('AWS::DynamoDB::Table').map(async ([logicalId, resource]) => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      const name = (p.TableName as string | undefined) ?? logicalId;
      const indexes = (p.GlobalSecondaryIndexes as Props[] | undefined)?.map((gsi) => ({
        IndexName: gsi.IndexName as string,
        KeySchema: gsi.KeySchema as never,
        Projection: gsi.Projection as never,
      }));
      const stream = p.StreamSpecification as { StreamViewType?: string } | undefined;
      const streamSpecification = stream?.StreamViewType
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as never }
        : undefined;
      let streamArn: string | undefined;
      try {
        const { TableDescription } = await clients.dynamodb.send(
          new CreateTableCommand({
            TableName: name,
            AttributeDefinitions: p.AttributeDefinitions as never,
            KeySchema: p.KeySchema as never,
            BillingMode: 'PAY_PER_REQUEST',
            GlobalSecondaryIndexes: indexes,
            ...(streamSpecification ? { StreamSpecification: streamSpecification } : {}),
          }),
        );
        streamArn = TableDescription?.LatestStreamArn;
      } catch (error) {
        if ((error as Error).name !== 'ResourceInUseException') throw error;
        // Kept from an earlier run: add the indexes the template has gained since.
        const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: name }));
        const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName));
        for (const index of indexes ?? []) {
          if (existing.has(index.IndexName)) continue;
          await clients.dynamodb
            .send(
              new UpdateTableCommand({
                TableName: name,
                AttributeDefinitions: p.AttributeDefinitions as never,
                GlobalSecondaryIndexUpdates: [{ Create: index }],
              }),
            )
            .catch((e: Error) =>
              warnings.push(
                `${name}: could not add index ${index.IndexName} (${e.message}); npm run reset starts over`,
              ),
            );
        }
        streamArn = Table?.LatestStreamArn;
        // A stream the template has gained since (or whose view type changed).
        if (
          streamSpecification &&
          (!streamArn || Table?.StreamSpecification?.StreamViewType !== streamSpecification.StreamViewType)
        ) {
          const { TableDescription } = await clients.dynamodb.send(
            new UpdateTableCommand({ TableName: name, StreamSpecification: streamSpecification }),
          );
          streamArn = TableDescription?.LatestStreamArn;
        }
      }
      if (streamArn) streamArns.add(streamArn);
      if (streamSpecification && !streamArn) warnings.push(`${name}: the data plane gave its stream no ARN`);
      const ttl = p.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
      if (ttl?.Enabled) {
        const keys = (p.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName);
        ttlTables.push({ name, attribute: ttl.AttributeName, keys });
      }
      if (ttl?.Enabled && options.supportsTtl) {
        await clients.dynamodb.send(
          new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: ttl }),
        );
      }
      resolver.define(logicalId, {
        ref: name,
        attributes: {
          Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${name}`,
          ...(streamArn ? { StreamArn: streamArn } : {}),
        },
      });
      tables.push(name);
    }),
  );

  const buckets = await Promise.all(
    resolver.resourcesOfType('AWS::S3::Bucket').map(async ([logicalId, resource]) => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      // Bucket names are lower case; CloudFormation derives one from the logical id likewise.
      const name = (p.BucketName as string | undefined) ?? `${logicalId.toLowerCase().slice(0, 50)}-local`;
      await clients.s3.send(new CreateBucketCommand({ Bucket: name }));
      resolver.define(logicalId, {
        ref: name,
        attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` },
      });
      return name;
    }),
  );

  // Queues first without redrive (a DLQ must exist before a queue names it), then redrive.
  const queueResources = resolver.resourcesOfType('AWS::SQS::Queue');
  const queues = await Promise.all(
    queueResources.map(async ([logicalId, resource]) => {
      const p = resource.Properties ?? {};
      const name = (p.QueueName as string | undefined) ?? logicalId;
      const attributes: Record<string, string> = {};
      for (const key of [
        'VisibilityTimeout',
        'MessageRetentionPeriod',
        'DelaySeconds',
        'ReceiveMessageWaitTimeSeconds',
        'MaximumMessageSize',
      ]) {
        if (p[key] !== undefined) attributes[key] = String(p[key]);
      }
      const { QueueUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
      );
      const { Attributes } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
      );
      const url = QueueUrl as string;
      const arn = Attributes?.QueueArn as string;
      resolver.define(logicalId, { ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } });
      return { logicalId, name, url, arn };
    }),
  );
  for (const [logicalId, resource] of queueResources) {
    const redrive = resource.Properties?.RedrivePolicy;
    if (!redrive) continue;
    const queue = queues.find((q) => q.logicalId === logicalId);
    await clients.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queue?.url,
        Attributes: { RedrivePolicy: JSON.stringify(resolver.resolve(redrive)) },
      }),
    );
  }

  // Roles need an ARN for CreateStateMachine; the edge reads their policies (local-iam.ts).
  for (const [logicalId] of resolver.resourcesOfType('AWS::IAM::Role')) {
    resolver.define(logicalId, {
      ref: logicalId,
      attributes: { Arn: `arn:aws:iam::${accountId}:role/${logicalId}` },
    });
  }

  const stateMachines = await Promise.all(
    resolver.resourcesOfType('AWS::StepFunctions::StateMachine').map(async ([logicalId, resource]) => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      const name = (p.StateMachineName as string | undefined) ?? logicalId;
      const { stateMachineArn } = await clients.sfn.send(
        new CreateStateMachineCommand({
          name,
          definition: p.DefinitionString as string,
          roleArn: p.RoleArn as string,
          type: (p.StateMachineType as 'STANDARD' | undefined) ?? 'STANDARD',
        }),
      );
      resolver.define(logicalId, {
        ref: stateMachineArn as string,
        attributes: { Arn: stateMachineArn as string, Name: name },
      });
      return { logicalId, arn: stateMachineArn as string };
    }),
  );

  // EventBridge buses: Ref is the name, Arn its ARN (the publisher's environment names the bus).
  const eventBuses: LocalEventBus[] = resolver
    .resourcesOfType('AWS::Events::EventBus')
    .map(([logicalId, resource]) => {
      const name = String(resolver.resolve<Props>(resource.Properties ?? {}).Name ?? logicalId);
      const arn = `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
      resolver.define(logicalId, { ref: name, attributes: { Arn: arn, Name: name } });
      return { name, arn };
    });
  const archives: LocalArchive[] = resolver
    .resourcesOfType('AWS::Events::Archive')
    .map(([logicalId, resource]) => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      resolver.define(logicalId, {
        ref: logicalId,
        attributes: { Arn: `arn:aws:events:${region}:${accountId}:archive/${logicalId}` },
      });
      return {
        name: String(p.ArchiveName ?? logicalId),
        busName: busNameOf(p.SourceArn),
        ...(p.EventPattern ? { pattern: p.EventPattern as Props } : {}),
        ...(p.RetentionDays !== undefined ? { retentionDays: Number(p.RetentionDays) } : {}),
      };
    });

  // A mapping's Ref is its UUID; locally the UUID is the logical id (functions' environments may name it).
  for (const [logicalId] of resolver.resourcesOfType('AWS::Lambda::EventSourceMapping')) {
    resolver.define(logicalId, { ref: logicalId, attributes: {} });
  }

  // APIs before functions: their environments may name an API's endpoint. The HTTP API is served
  // on its own port; a WebSocket API on the edge (websocket-api.ts), at /realtime/<api id>.
  const apis = resolver.resourcesOfType('AWS::ApiGatewayV2::Api');
  const isWebSocket = (resource: { Properties?: Props }) => resource.Properties?.ProtocolType === 'WEBSOCKET';
  const apiEntry = apis.find(([, resource]) => !isWebSocket(resource));
  for (const [logicalId, resource] of apis) {
    const ref = logicalId.toLowerCase().slice(0, 10);
    resolver.define(logicalId, {
      ref,
      attributes: {
        ApiEndpoint: isWebSocket(resource)
          ? `${options.edgeUrl.replace(/^http/, 'ws')}/realtime/${ref}`
          : options.apiUrl,
      },
    });
  }

  const lambdaResources = resolver.resourcesOfType('AWS::Lambda::Function');
  for (const [logicalId, resource] of lambdaResources) {
    const name = (resource.Properties?.FunctionName as string | undefined) ?? logicalId;
    resolver.define(logicalId, {
      ref: name,
      attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${name}` },
    });
  }
  const functions = lambdaResources.map(([logicalId, resource]): LocalFunction => {
    const p = resource.Properties ?? {};
    const name = resolver.physicalOf(logicalId)?.ref as string;
    // A bundled asset's S3 key is "<hash>.zip"; the cloud assembly holds it as asset.<hash>/.
    const s3Key = (p.Code as Props | undefined)?.S3Key;
    const assetPath =
      (resource.Metadata?.['aws:asset:path'] as string | undefined) ??
      (typeof s3Key === 'string' ? `asset.${s3Key.replace(/\.zip$/, '')}` : undefined);
    if (!assetPath)
      throw new Error(
        `${logicalId}: no bundled code asset in the template (inline code is not supported locally)`,
      );
    const [file, handlerExport] = splitHandler(String(p.Handler ?? 'index.handler'));
    const variables = resolver.resolve<Record<string, string>>(
      (p.Environment as Props | undefined)?.Variables ?? {},
    );
    return {
      name,
      arn: resolver.physicalOf(logicalId)?.attributes.Arn as string,
      codePath: path.join(options.assemblyDir, assetPath, `${file}.mjs`),
      handlerExport,
      environment: {
        ...options.baseEnvironment,
        ...variables,
        // Each function signs as itself: the edge checks its calls against its role's policies.
        AWS_ACCESS_KEY_ID: accessKeyIdOf(name),
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(p.MemorySize ?? 128),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      },
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySize: Number(p.MemorySize ?? 128),
      concurrencyLimit: Number(p.ReservedConcurrentExecutions ?? 100),
      description: typeof p.Description === 'string' ? p.Description : undefined,
    };
  });

  const eventSourceMappings = resolver
    .resourcesOfType('AWS::Lambda::EventSourceMapping')
    .flatMap(([logicalId, resource]) => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      const queue = queues.find((q) => q.arn === p.EventSourceArn);
      if (!queue && streamArns.has(String(p.EventSourceArn))) return [];
      if (!queue) {
        warnings.push(`${logicalId}: event source ${String(p.EventSourceArn)} is not an SQS queue; skipped`);
        return [];
      }
      const scaling = p.ScalingConfig as { MaximumConcurrency?: number } | undefined;
      return [
        {
          logicalId,
          functionName: String(p.FunctionName).split(':').pop() as string,
          queueUrl: queue.url,
          queueArn: queue.arn,
          batchSize: Number(p.BatchSize ?? 10),
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          // Lambda's own default: up to 1,000 concurrent batches; locally a few pollers suffice.
          maximumConcurrency: scaling?.MaximumConcurrency ?? 5,
          enabled: p.Enabled !== false,
        },
      ];
    });

  // DynamoDB stream → Lambda mappings (stream-pollers.ts), with Lambda's defaults.
  const streamMappings = resolver
    .resourcesOfType('AWS::Lambda::EventSourceMapping')
    .flatMap(([logicalId, resource]): StreamMapping[] => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      if (!streamArns.has(String(p.EventSourceArn))) return [];
      if (p.FilterCriteria)
        warnings.push(`${logicalId}: FilterCriteria are not applied locally; the function sees every record`);
      const onFailure = (p.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)
        ?.OnFailure?.Destination;
      const onFailureQueue = queues.find((q) => q.arn === onFailure);
      if (onFailure && !onFailureQueue)
        warnings.push(`${logicalId}: only an SQS OnFailure destination is served locally`);
      return [
        {
          uuid: logicalId,
          functionName: String(p.FunctionName).split(':').pop() as string,
          streamArn: String(p.EventSourceArn),
          batchSize: Number(p.BatchSize ?? 100),
          startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
          maximumBatchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1000,
          bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true,
          maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          ...(onFailureQueue ? { onFailureQueueUrl: onFailureQueue.url } : {}),
          enabled: p.Enabled !== false,
        },
      ];
    });

  const integrations = new Map<string, string>();
  for (const [logicalId, resource] of resolver.resourcesOfType('AWS::ApiGatewayV2::Integration')) {
    resolver.define(logicalId, { ref: logicalId, attributes: {} });
    integrations.set(logicalId, resolver.resolve<string>(resource.Properties?.IntegrationUri));
  }
  // Lambda REQUEST authorizers, as the template declares them (identity sources, cache TTL).
  const authorizers = new Map<string, LocalAuthorizer>();
  for (const [logicalId, resource] of resolver.resourcesOfType('AWS::ApiGatewayV2::Authorizer')) {
    resolver.define(logicalId, { ref: logicalId, attributes: { AuthorizerId: logicalId } });
    const p = resolver.resolve<Props>(resource.Properties ?? {});
    const functionArn = /\/functions\/(.+)\/invocations$/.exec(String(p.AuthorizerUri ?? ''))?.[1];
    const fn = functions.find((f) => f.arn === functionArn);
    if (p.AuthorizerType !== 'REQUEST' || !fn) {
      warnings.push(
        `${logicalId}: only Lambda REQUEST authorizers run locally; its routes refuse every request`,
      );
      continue;
    }
    authorizers.set(logicalId, {
      functionName: fn.name,
      identitySource: (p.IdentitySource as string[] | undefined) ?? [],
      resultTtlSeconds: Number(p.AuthorizerResultTtlInSeconds ?? 300),
      simpleResponses: p.EnableSimpleResponses === true,
    });
  }
  const httpApiId = apiEntry ? resolver.physicalOf(apiEntry[0])?.ref : undefined;
  const routes = resolver
    .resourcesOfType('AWS::ApiGatewayV2::Route')
    .flatMap(([logicalId, resource]): LocalRoute[] => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      if (p.ApiId !== httpApiId) return [];
      // "$default" takes what no other route takes.
      const [method, routePath] =
        p.RouteKey === '$default' ? ['ANY', '$default'] : (String(p.RouteKey).split(' ') as [string, string]);
      const integrationArn = integrations.get(String(p.Target ?? '').replace(/^integrations\//, ''));
      const fn = functions.find((f) => f.arn === integrationArn);
      if (!fn) {
        warnings.push(`${logicalId}: route ${String(p.RouteKey)} has no local Lambda integration; skipped`);
        return [];
      }
      if (p.AuthorizationType === 'CUSTOM') {
        // An authorizer that cannot run locally refuses, as a broken one does on AWS (500).
        const authorizer = authorizers.get(String(p.AuthorizerId)) ?? brokenAuthorizer;
        return [{ method, path: routePath, functionName: fn.name, authorizer }];
      }
      if (p.AuthorizationType && p.AuthorizationType !== 'NONE') {
        warnings.push(
          `${logicalId}: ${String(p.AuthorizationType)} authorization does not run locally; route skipped`,
        );
        return [];
      }
      return [{ method, path: routePath, functionName: fn.name }];
    });
  // WebSocket APIs: their routes (route keys to functions) and stage.
  const webSocketApis = apis
    .filter(([, resource]) => isWebSocket(resource))
    .map(([logicalId, resource]): LocalWebSocketApi => {
      const apiId = resolver.physicalOf(logicalId)?.ref as string;
      const stage = resolver
        .resourcesOfType('AWS::ApiGatewayV2::Stage')
        // Only what names the stage: its access log's group is not created locally.
        .map(([, r]) =>
          resolver.resolve<Props>({ ApiId: r.Properties?.ApiId, StageName: r.Properties?.StageName }),
        )
        .find((stageProps) => stageProps.ApiId === apiId);
      const apiRoutes = new Map<string, string>();
      for (const [routeId, route] of resolver.resourcesOfType('AWS::ApiGatewayV2::Route')) {
        const p = resolver.resolve<Props>(route.Properties ?? {});
        if (p.ApiId !== apiId) continue;
        // A WebSocket API's Lambda integration names the function inside API Gateway's invocation URI.
        const uri = String(integrations.get(String(p.Target ?? '').replace(/^integrations\//, '')) ?? '');
        const integrationArn = /\/functions\/(.+)\/invocations$/.exec(uri)?.[1] ?? uri;
        const fn = functions.find((f) => f.arn === integrationArn);
        if (fn) apiRoutes.set(String(p.RouteKey), fn.name);
        else
          warnings.push(
            `${routeId}: WebSocket route ${String(p.RouteKey)} has no local Lambda integration; skipped`,
          );
      }
      return {
        apiId,
        stage: String(stage?.StageName ?? '$default'),
        routeSelectionExpression: String(
          resolver.resolve<Props>(resource.Properties ?? {}).RouteSelectionExpression ??
            '$request.body.action',
        ),
        routes: apiRoutes,
      };
    });
  for (const [logicalId, resource] of resolver.resourcesOfType('AWS::ApiGatewayV2::Stage'))
    resolver.define(logicalId, { ref: String(resource.Properties?.StageName ?? logicalId), attributes: {} });

  const cors = apiEntry?.[1].Properties?.CorsConfiguration as Props | undefined;

  const schedules = resolver
    .resourcesOfType('AWS::Events::Rule')
    .flatMap(([logicalId, resource]): LocalSchedule[] => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      if (!p.ScheduleExpression) return [];
      return ((p.Targets as Props[] | undefined) ?? []).flatMap((target) => {
        const fn = functions.find((f) => f.arn === target.Arn);
        return fn
          ? [{ ruleName: logicalId, expression: String(p.ScheduleExpression), functionName: fn.name }]
          : [];
      });
    });

  // Rules on a bus with an event pattern (schedule rules are above).
  const eventRules = resolver
    .resourcesOfType('AWS::Events::Rule')
    .flatMap(([logicalId, resource]): LocalEventRule[] => {
      const p = resolver.resolve<Props>(resource.Properties ?? {});
      if (!p.EventPattern || p.State === 'DISABLED') return [];
      const targets = (p.Targets as Props[] | undefined) ?? [];
      const functionNames = targets.flatMap((t) => functions.find((f) => f.arn === t.Arn)?.name ?? []);
      if (functionNames.length < targets.length)
        warnings.push(`${logicalId}: only Lambda targets are served locally; the others are skipped`);
      return [
        {
          name: String(p.Name ?? logicalId),
          busName: busNameOf(p.EventBusName),
          pattern: p.EventPattern as Props,
          functionNames,
        },
      ];
    });

  return {
    tables,
    ttlTables,
    eventBuses,
    eventRules,
    archives,
    webSocketApis,
    buckets,
    queues,
    stateMachines,
    functions,
    eventSourceMappings,
    streamMappings,
    routes,
    ...(apiEntry
      ? {
          api: {
            logicalId: apiEntry[0],
            ...(cors
              ? {
                  cors: {
                    allowOrigins: (cors.AllowOrigins as string[]) ?? ['*'],
                    allowMethods: (cors.AllowMethods as string[]) ?? ['*'],
                    allowHeaders: (cors.AllowHeaders as string[]) ?? [],
                  },
                }
              : {}),
          },
        }
      : {}),
    schedules,
    warnings,
  };
}

function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf('.');
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}
