/**
 * The embedded local cloud: synthesizes the factory's CDK app and runs that template on this
 * machine. Order of boot: data plane → edge endpoint → resources from the template → Lambda
 * runtime → event source pollers → HTTP API → schedules.
 */
import './quiet-sdk.ts';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Role } from '../../functions/domain/access.ts';
import { LocalAdmin } from './admin.ts';
import { type BootstrappedKeys, bootstrapApiKeys } from './api-keys-bootstrap.ts';
import { type BackendKind, type DataPlane, startEmbedded, startMoto } from './backends.ts';
import { CallCounter } from './call-counter.ts';
import { type Edge, startEdge } from './edge.ts';
import { LocalEventBuses } from './event-buses.ts';
import { EventSourcePollers } from './event-source-mappings.ts';
import { startHttpApi } from './http-api.ts';
import { inProcessTransport, jsonProtocolClient } from './in-process-transport.ts';
import { lambdaApi } from './lambda-api.ts';
import { LambdaRuntime } from './lambda-runtime.ts';
import { LocalIam } from './local-iam.ts';
import { type ProvisionedStack, provision } from './provisioner.ts';
import { Schedules } from './schedules.ts';
import { deliveryThrough, LocalSnsTopics } from './sns-topics.ts';
import { StepFunctionsFacade } from './step-functions/facade.ts';
import { StreamPollers } from './stream-pollers.ts';
import { synthesize } from './synth.ts';
import { TemplateResolver } from './template.ts';
import { TtlSweeper } from './ttl-sweeper.ts';
import { LocalWebSocketApis } from './websocket-api.ts';
import type { WriteUnitMeter } from './write-units.ts';

export interface LocalCloudOptions {
  /** HTTP API port. @default 3000 (0 picks a free port) */
  readonly apiPort?: number;
  /** AWS endpoint port (all services). @default 4566 (0 picks a free port) */
  readonly edgePort?: number;
  /** @default 'embedded' */
  readonly backend?: BackendKind;
  /** Where the cloud assembly and logs go. @default .local/ */
  readonly workDir?: string;
  /** Progress and request lines; function output goes to `${workDir}/lambda.log` unless echoed. */
  readonly log?: (line: string) => void;
  /** Also print function output to the console. @default false */
  readonly echoFunctionLogs?: boolean;
  /** Extra CDK context (the simulation hook is on by default locally). */
  readonly context?: Record<string, unknown>;
  /**
   * Where the embedded data plane keeps tables, queues, executions and objects across
   * restarts; `false` keeps them in memory only. @default `${workDir}/data`
   */
  readonly dataDir?: string | false;
  /** Start with empty data (`npm start -- --fresh`). @default false */
  readonly fresh?: boolean;
}

export interface LocalCloud {
  readonly apiUrl: string;
  readonly edgeUrl: string;
  readonly backend: BackendKind;
  readonly stack: ProvisionedStack;
  readonly calls: CallCounter;
  /** DynamoDB write units by table and index, as AWS would bill them (embedded backend only). */
  readonly writeUnits?: WriteUnitMeter;
  readonly runtime: LambdaRuntime;
  readonly pollers: EventSourcePollers;
  readonly schedules: Schedules;
  /** Present with the embedded backend. */
  readonly stepFunctions?: StepFunctionsFacade;
  readonly clients: { dynamodb: DynamoDBClient; sqs: SQSClient; sfn: SFNClient; s3: S3Client };
  readonly resolver: TemplateResolver;
  readonly bootMs: number;
  /** Where the state is kept across restarts; undefined when it is in memory only. */
  readonly dataDir?: string;
  readonly workDir: string;
  /** The keys of the factory's three roles (issued on a first start) and where they are written. */
  readonly keys: BootstrappedKeys;
  /** The functions' IAM policies and the calls they refused. */
  readonly iam: LocalIam;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const localIdentity = { region: 'us-east-1', accountId: '000000000000' } as const;

/** What jobs may call locally besides public addresses: localhost, not the rest of 127/8. */
export const localOutboundAllowList = 'localhost,127.0.0.1,::1';

/** The functions a caller waits on: HTTP routes, their authorizers and WebSocket routes. */
export function functionsCallersWaitOn(
  stack: Pick<ProvisionedStack, 'routes' | 'webSocketApis'>,
): Set<string> {
  return new Set([
    ...stack.routes.flatMap((route) => [route.functionName, route.authorizer?.functionName ?? []].flat()),
    ...stack.webSocketApis.flatMap((api) => [...api.routes.values()]),
  ]);
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const workDir = path.resolve(options.workDir ?? '.local');
  const backend = options.backend ?? 'embedded';
  mkdirSync(workDir, { recursive: true });
  const lambdaLog = path.join(workDir, 'lambda.log');
  rmSync(lambdaLog, { force: true });
  rmSync(path.join(workDir, 'moto.log'), { force: true });

  // A stream, not a synchronous append per line: the workers write a few lines per job, and an
  // open-write-close for each was a tenth of the main thread's time in a drain. Lines written
  // while a write is under way go out together in the next one.
  const functionLogFile = createWriteStream(lambdaLog, { flags: 'a' });
  const functionLog = (line: string) => {
    functionLogFile.write(`${line}\n`);
    if (options.echoFunctionLogs) log(line);
  };

  log('Synthesizing the CDK app (reused when infra/, functions/ and console/ are unchanged) …');
  process.env.CDK_DEFAULT_ACCOUNT ??= localIdentity.accountId;
  process.env.CDK_DEFAULT_REGION ??= localIdentity.region;
  // Shared by every run in this checkout (npm start, tests, bench): keyed by the inputs.
  const synthesized = await synthesize(path.resolve(repoRoot, '.local', 'assemblies'), {
    'robot-factory:simulation': true,
    // Local webhooks keep working: loopback's usual addresses are allowed unless
    // OUTBOUND_ALLOW_LIST says otherwise ('' refuses them too, as a deployed stack does).
    'robot-factory:outboundAllowList': process.env.OUTBOUND_ALLOW_LIST ?? localOutboundAllowList,
    ...options.context,
  });
  log(
    `${synthesized.synthesized ? 'Synthesized' : 'Reused the synthesized template:'} ` +
      `${Object.keys(synthesized.template.Resources).length} resources (${Date.now() - started} ms)`,
  );

  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  let edge: Edge | undefined;
  const dataDir =
    options.dataDir === false ? undefined : path.resolve(options.dataDir ?? path.join(workDir, 'data'));
  if (dataDir && options.fresh) rmSync(dataDir, { recursive: true, force: true });
  const dataPlane: DataPlane =
    backend === 'moto'
      ? await startMoto(path.join(workDir, 'moto.log'), localIdentity.accountId)
      : await startEmbedded(() => edge?.url ?? '', localIdentity, dataDir);

  const calls = new CallCounter();
  let facade: StepFunctionsFacade | undefined;
  const runtime = new LambdaRuntime({ log: (line) => functionLog(line) });
  let pollers: EventSourcePollers | undefined;
  let eventBuses: LocalEventBuses | undefined;
  let webSockets: LocalWebSocketApis | undefined;
  let snsTopics: LocalSnsTopics | undefined;
  const notYet = (what: string) => ({
    status: 503,
    headers: {},
    body: JSON.stringify({ message: `The ${what} are not provisioned yet` }),
  });
  const edgeBackends = {
    dynamodb: dataPlane.dynamodb,
    streams: dataPlane.streams,
    sqs: dataPlane.sqs,
    states:
      dataPlane.states ??
      ((request: Parameters<StepFunctionsFacade['handle']>[0]) =>
        (facade as StepFunctionsFacade).handle(request)),
    lambda: lambdaApi(runtime, () => pollers),
    s3: dataPlane.s3,
    // Both backends: EventBridge's targets are the local Lambdas.
    events: async (request: Parameters<LocalEventBuses['handle']>[0]) =>
      eventBuses ? eventBuses.handle(request) : notYet('event buses'),
    'execute-api': async (request: Parameters<LocalWebSocketApis['manage']>[0]) =>
      webSockets ? webSockets.manage(request) : notYet('WebSocket APIs'),
    // Both backends: subscribed queues are reached through whichever data plane serves SQS.
    sns: async (request: Parameters<LocalSnsTopics['handle']>[0]) =>
      snsTopics ? snsTopics.handle(request) : notYet('SNS topics'),
  };
  const admin = new LocalAdmin(runtime);
  admin.usage = { calls, ...(dataPlane.writeUnits ? { writeUnits: dataPlane.writeUnits } : {}) };
  edge = await startEdge(options.edgePort ?? 4566, edgeBackends, calls, admin);
  runtime.connectEdge(edge.url, edge.dispatch);
  // The local cloud's own calls reach the edge without a socket (in-process-transport.ts); the
  // pollers get a client of their own, apart from the workflow's sends.
  const clientConfig = {
    region: localIdentity.region,
    endpoint: edge.url,
    credentials,
    requestHandler: inProcessTransport(edge),
  };
  const clients = {
    dynamodb: new DynamoDBClient(clientConfig),
    sqs: new SQSClient(clientConfig),
    sfn: new SFNClient(clientConfig),
    s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
  };
  // The pollers (Lambda's own service) skip the SDK: see jsonProtocolClient.
  const pollerSqs = jsonProtocolClient(
    edge,
    { targetPrefix: 'AmazonSQS', signingName: 'sqs' },
    { region: localIdentity.region, accessKeyId: credentials.accessKeyId },
  ) as unknown as SQSClient;
  snsTopics = new LocalSnsTopics(
    localIdentity,
    deliveryThrough(clients.sqs),
    dataPlane.durable && dataDir ? path.join(dataDir, 'sns-topics.json') : undefined,
  );
  admin.sns = snsTopics;
  if (!dataPlane.states)
    facade = new StepFunctionsFacade(
      clients,
      localIdentity,
      dataPlane.durable && dataDir ? path.join(dataDir, 'executions.jsonl') : undefined,
      functionLog,
    );

  const resolver = new TemplateResolver(synthesized.template, {
    ...localIdentity,
    stackName: synthesized.stackName,
  });
  const apiPort = options.apiPort ?? 3000;
  const stack = await provision(resolver, clients, {
    assemblyDir: synthesized.assemblyDir,
    apiUrl: `http://localhost:${apiPort}`,
    edgeUrl: edge.url,
    supportsTtl: dataPlane.supportsTtl,
    baseEnvironment: {
      AWS_REGION: localIdentity.region,
      AWS_DEFAULT_REGION: localIdentity.region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL: edge.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOCAL_CLOUD: 'true',
    },
  });
  for (const warning of stack.warnings) log(`warning: ${warning}`);

  const callersWaitOn = functionsCallersWaitOn(stack);
  for (const fn of stack.functions) runtime.register(fn, { answersCaller: callersWaitOn.has(fn.name) });
  // From here on each function's calls are checked against its policies, as on AWS.
  const iam = new LocalIam(resolver);
  for (const warning of iam.warnings) log(`warning: ${warning}`);
  admin.iam = iam;

  // The table the authorizer reads its keys from, as the template wires it.
  const keysTable = stack.functions.find((f) => f.name.includes('Authorizer'))?.environment.API_KEYS_TABLE;
  if (!keysTable) throw new Error('The template has no authorizer with an API_KEYS_TABLE: no keys to issue');
  const keys = await bootstrapApiKeys(clients.dynamodb, keysTable, workDir);
  for (const note of keys.notes) log(`warning: ${note}`);

  pollers = new EventSourcePollers(
    pollerSqs,
    runtime,
    localIdentity.region,
    functionLog,
    dataPlane.durable && dataDir ? path.join(dataDir, 'event-source-mappings.json') : undefined,
  );
  for (const mapping of stack.eventSourceMappings) pollers.add({ ...mapping, uuid: mapping.logicalId });
  const streamsClient = jsonProtocolClient(
    edge,
    { targetPrefix: 'DynamoDBStreams_20120810', signingName: 'dynamodb' },
    { region: localIdentity.region, accessKeyId: credentials.accessKeyId },
  ) as unknown as DynamoDBStreamsClient;
  const streamPollers = new StreamPollers(
    streamsClient,
    pollerSqs,
    runtime,
    functionLog,
    dataPlane.durable && dataDir ? path.join(dataDir, 'stream-checkpoints.json') : undefined,
    dataPlane.onStreamRecord ? { onRecord: dataPlane.onStreamRecord } : {},
  );
  for (const mapping of stack.streamMappings) streamPollers.add(mapping);

  const http = await startHttpApi(stack.routes, runtime, {
    port: apiPort,
    apiId: 'local',
    accountId: localIdentity.accountId,
    cors: stack.api?.cors,
    log: functionLog,
  });

  eventBuses = new LocalEventBuses(
    localIdentity,
    stack.eventBuses,
    stack.eventRules,
    stack.archives,
    (fn, event) => runtime.invoke(fn, event),
    dataPlane.durable && dataDir ? path.join(dataDir, 'event-archives') : undefined,
    functionLog,
  );

  webSockets = new LocalWebSocketApis(
    stack.webSocketApis,
    (fn, event) => runtime.invoke(fn, event),
    localIdentity,
    functionLog,
  );
  webSockets.attach(edge.server);

  const schedules = new Schedules(runtime, localIdentity, log);
  for (const schedule of stack.schedules) schedules.start(schedule);

  // dynalite has no TTL and moto never expires rows: the local cloud does what AWS's TTL does.
  const ttl = new TtlSweeper(clients.dynamodb, stack.ttlTables, functionLog);
  ttl.start();
  admin.ttl = ttl;

  // Executions that were running when the last run stopped (or was killed) run again.
  const resumed = facade?.resumeFromJournal() ?? 0;
  if (resumed > 0) log(`Resumed ${resumed} workflow execution(s) that were running at the last stop`);

  return {
    apiUrl: http.url,
    edgeUrl: edge.url,
    backend,
    stack,
    calls,
    ...(dataPlane.writeUnits ? { writeUnits: dataPlane.writeUnits } : {}),
    runtime,
    pollers: pollers as EventSourcePollers,
    schedules,
    ...(facade ? { stepFunctions: facade } : {}),
    clients,
    resolver,
    bootMs: Date.now() - started,
    workDir,
    keys,
    iam,
    ...(dataPlane.durable && dataDir ? { dataDir } : {}),
    stop: async () => {
      schedules.stop();
      webSockets?.close();
      ttl.stop();
      pollers?.stop();
      streamPollers.stop();
      facade?.stop();
      await http.close();
      await runtime.stop();
      await edge?.close();
      await dataPlane.stop();
      for (const client of [...Object.values(clients), pollerSqs, streamsClient]) client.destroy();
      await new Promise<void>((resolve) => functionLogFile.end(resolve));
    },
  };
}

export function describeLocalCloud(cloud: LocalCloud): string[] {
  const { stack } = cloud;
  const lines = [
    `Robot Factory is running on the local cloud (${cloud.backend} backend), ready in ${cloud.bootMs} ms`,
    '',
    `  HTTP API        ${cloud.apiUrl}`,
    ...stack.routes.map((r) => `                  ${r.method.padEnd(6)} ${r.path}  →  ${r.functionName}`),
    `  AWS endpoint    ${cloud.edgeUrl}  (DynamoDB and its streams, SQS, S3, Step Functions, Lambda, EventBridge, SNS, API Gateway connections; AWS_ENDPOINT_URL=${cloud.edgeUrl})`,
    `  Tables          ${stack.tables.join(', ')}`,
    `  Queues          ${stack.queues.length} SQS queues: ${stack.queues.filter((q) => /LineQueue/.test(q.name) && !/DeadLetter/.test(q.name)).length} production lines, ${stack.queues.filter((q) => /JobQueue/.test(q.name) && !/DeadLetter/.test(q.name)).length} job-queue priority bands, and their DLQs`,
    `  Buckets         ${stack.buckets.join(', ') || 'none'}`,
    ...stack.eventSourceMappings.map(
      (m) =>
        `                  ${m.queueUrl.split('/').pop()} → ${m.functionName} (batch ${m.batchSize}, max concurrency ${m.maximumConcurrency})`,
    ),
    `  State machines  ${stack.stateMachines.map((s) => s.arn.split(':').pop()).join(', ')}`,
    ...stack.webSocketApis.map(
      (api) =>
        `  WebSocket API   ${cloud.edgeUrl.replace(/^http/, 'ws')}/realtime/${api.apiId}/${api.stage}?ticket=…  (POST /realtime/tickets; routes ${[...api.routes.keys()].join(', ')})`,
    ),
    ...stack.eventBuses.map(
      (bus) =>
        `  Event bus       ${bus.name} (${stack.eventRules.filter((r) => r.busName === bus.name).length} rules, ${stack.archives.filter((a) => a.busName === bus.name).length} archive; GET /events pages the events)`,
    ),
    `  Schedules       ${stack.schedules.map((s) => `${s.ruleName} ${s.expression}`).join(', ') || 'none'}`,
    `  Function logs   ${path.relative(process.cwd(), path.join(cloud.workDir, 'lambda.log'))}`,
    `  API keys        ${path.relative(process.cwd(), cloud.keys.file)} (Authorization: Bearer <key>; every route but GET /health, the console's files and the API reference needs one)`,
    ...Object.entries(cloud.keys.credentials).map(
      ([role, key]) =>
        `                  ${role.padEnd(9)} ${key}${cloud.keys.issued.includes(role as Role) ? '  (new)' : ''}`,
    ),
    `  Data            ${cloud.dataDir ? `${path.relative(process.cwd(), cloud.dataDir) || cloud.dataDir} (kept across restarts; npm start -- --fresh or npm run reset starts empty)` : 'in memory (gone at stop)'}`,
  ];
  return lines;
}
