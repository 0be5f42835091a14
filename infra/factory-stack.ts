import {
  ArnFormat,
  type CfnElement,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { type DeadLetterQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { robotTypes } from '../functions/domain/catalog.ts';
import { workerMemoryMb } from '../functions/domain/cost-model.ts';
import { jobQueueNames, jobQueues } from '../functions/domain/job-queues.ts';
import { parseAllowList } from '../functions/domain/outbound-policy.ts';
import { productionLineNames, productionLines } from '../functions/domain/production-lines.ts';
import { ApiAccess } from './constructs/api-access.ts';
import { AssemblyWorkflow } from './constructs/assembly-workflow.ts';
import { FactoryApi, type FactoryRoute } from './constructs/factory-api.ts';
import { FactoryEventStream } from './constructs/factory-event-stream.ts';
import { FactoryFunction } from './constructs/factory-function.ts';
import { displayNameOf, FactoryMonitoring } from './constructs/factory-monitoring.ts';
import { FactoryTables, type TableAccess } from './constructs/factory-tables.ts';
import { JobQueue } from './constructs/job-queue.ts';
import { PreciseTimers } from './constructs/precise-timers.ts';
import { ProductionLine } from './constructs/production-line.ts';
import { RealtimePush } from './constructs/realtime-push.ts';
import { ScheduledTask } from './constructs/scheduled-task.ts';
import { TableStreamConsumer } from './constructs/table-stream-consumer.ts';
import { TlsOnlyQueues } from './constructs/tls-only-queues.ts';

export interface FactoryStackProps extends StackProps {
  /**
   * Accept the `simulate` hook on orders (scripted step durations and failures).
   * @default false — on only where tests need it (the local cloud turns it on)
   */
  readonly simulation?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Days finished jobs (COMPLETED, CANCELLED) stay before TTL removes them. @default 7 */
  readonly jobRetentionDays?: number;
  /** Days DEAD jobs stay in the dead-letter queue (and job batches stay). @default 30 */
  readonly deadJobRetentionDays?: number;
  /** Days orders and their steps stay after they were placed (renewed on resume). @default 90 */
  readonly orderRetentionDays?: number;
  /** Days scaling events and finished maintenance windows stay. @default 90 */
  readonly operationsRetentionDays?: number;
  /**
   * Hosts and CIDRs (comma-separated) jobs may call besides public addresses, e.g. an internal
   * webhook receiver. @default '' — nothing private, loopback or link-local (metadata) is called
   */
  readonly outboundAllowList?: string;
  /** Subscribed to the alarm topic (`-c robot-factory:alarmEmail=ops@example.com`). @default none */
  readonly alarmEmail?: string;
}

export class FactoryStack extends Stack {
  /** The dashboard, the alarms and their topic (a nested stack). */
  public readonly monitoring: FactoryMonitoring;

  constructor(scope: Construct, id: string, props: FactoryStackProps = {}) {
    super(scope, id, props);
    // Merge IAM statements that differ only in resources: every function's policy stays one
    // document instead of overflowing into managed policies (CloudFormation allows 500
    // resources a stack).
    this.node.setContext('@aws-cdk/aws-iam:minimizePolicies', true);
    const tables = new FactoryTables(this, 'Tables', {
      removalPolicy: props.dataRemovalPolicy,
      retention: {
        jobDays: props.jobRetentionDays,
        deadJobDays: props.deadJobRetentionDays,
        orderDays: props.orderRetentionDays,
        operationsDays: props.operationsRetentionDays,
      },
    });

    const lines = Object.fromEntries(
      productionLineNames.map((name) => [
        name,
        new ProductionLine(this, `${pascal(name)}Line`, {
          lineName: name,
          definition: productionLines[name],
          tables,
        }),
      ]),
    );
    const lineQueues = Object.fromEntries(Object.entries(lines).map(([name, line]) => [name, line.bands]));

    const workflows = robotTypes.map(
      (robotType) =>
        new AssemblyWorkflow(this, `${pascal(robotType.name)}Assembly`, {
          robotType,
          lineQueues,
          ordersTable: tables.orders,
          jobsTable: tables.jobs,
        }),
    );
    for (const workflow of workflows) {
      for (const line of Object.values(lines)) workflow.stateMachine.grantTaskResponse(line.worker);
    }
    const assemblyWorkflows = Stack.of(this).toJsonString(
      Object.fromEntries(robotTypes.map((r, i) => [r.name, workflows[i]?.stateMachine.stateMachineArn])),
    );

    // The job engine: standalone jobs never touch Step Functions.
    const artifacts = new Bucket(this, 'Artifacts', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(tables.retention.jobDays) }],
      removalPolicy: props.dataRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Read here so that a bad entry fails the synth, not the first webhook.
    const outboundAllowList = parseAllowList(props.outboundAllowList).entries.join(',');
    const engineEnv: Record<string, string> = { ARTIFACTS_BUCKET: artifacts.bucketName };
    // Queue URLs go to the workers by a second variable set after the queues exist.
    const jobQueueConstructs = jobQueueNames.map(
      (name) =>
        new JobQueue(this, `${pascal(name)}JobQueue`, {
          queueName: name,
          definition: jobQueues[name],
          environment: {
            ...engineEnv,
            ...tables.environmentFor(tableAccess.jobWorker),
            OUTBOUND_ALLOW_LIST: outboundAllowList,
          },
          // The cost model prices the workers' GB-seconds at this memory.
          memorySize: workerMemoryMb(name),
          ...(name === 'media'
            ? {
                bundleImageCodecs: true,
                bundledFiles: [
                  'node_modules/@jsquash/webp/codec/enc/webp_enc_simd.wasm',
                  'node_modules/@jsquash/webp/codec/dec/webp_dec.wasm',
                ],
              }
            : {}),
        }),
    );
    const jobQueueUrls = Stack.of(this).toJsonString(
      Object.fromEntries(jobQueueNames.map((name, i) => [name, jobQueueConstructs[i]?.urls])),
    );
    engineEnv.JOB_QUEUE_URLS = jobQueueUrls;
    for (const jobQueue of jobQueueConstructs) {
      jobQueue.worker.addEnvironment('JOB_QUEUE_URLS', jobQueueUrls);
      tables.grant(jobQueue.worker, tableAccess.jobWorker);
      artifacts.grantReadWrite(jobQueue.worker);
    }
    const grantSend = (grantee: IGrantable) => {
      for (const jobQueue of jobQueueConstructs)
        for (const q of Object.values(jobQueue.bands)) q.grantSendMessages(grantee);
    };
    for (const jobQueue of jobQueueConstructs) grantSend(jobQueue.worker);
    // Per queue: its event source mappings (scaling, pausing) and SQS queues (depth).
    const queueWiring = Stack.of(this).toJsonString({
      ...Object.fromEntries(
        jobQueueNames.map((name, i) => {
          const jobQueue = jobQueueConstructs[i] as JobQueue;
          return [name, { mappings: jobQueue.mappingIds, urls: Object.values(jobQueue.urls) }];
        }),
      ),
      ...Object.fromEntries(
        Object.entries(lines).map(([name, line]) => [
          name,
          { mappings: line.mappingIds, urls: Object.values(line.urls) },
        ]),
      ),
    });
    const timers = new PreciseTimers(this, 'Timers', {
      environment: {
        ...engineEnv,
        ...tables.environmentFor(tableAccess.operating),
        QUEUE_WIRING: queueWiring,
      },
    });
    const opsEnv = { ...engineEnv, QUEUE_WIRING: queueWiring, TIMERS_QUEUE_URL: timers.queue.queueUrl };
    const allSqsQueues = [
      ...jobQueueConstructs.flatMap((q) => Object.values(q.bands)),
      ...Object.values(lines).flatMap((line) => Object.values(line.bands)),
    ];
    const mappingArns = [
      ...jobQueueConstructs.flatMap((q) => Object.values(q.mappingIds)),
      ...Object.values(lines).flatMap((line) => Object.values(line.mappingIds)),
    ].map((uuid) =>
      Stack.of(this).formatArn({
        service: 'lambda',
        resource: 'event-source-mapping',
        resourceName: uuid,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    );
    /** Read queue depth and the mappings; with `scale`, also change concurrency and pause. */
    const grantQueueOperations = (grantee: IGrantable, scale: boolean) => {
      for (const q of allSqsQueues) q.grant(grantee, 'sqs:GetQueueAttributes');
      grantee.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: scale
            ? ['lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping']
            : ['lambda:GetEventSourceMapping'],
          resources: mappingArns,
        }),
      );
    };
    // Cron occurrences submit jobs; windows pause and resume queues. (Timers arms itself.)
    grantQueueOperations(timers.function, true);
    grantSend(timers.function);
    tables.grant(timers.function, tableAccess.operating);
    for (const [id, entry, description, access, grants] of [
      [
        'Autoscaler',
        'scheduled/autoscaler.ts',
        'Autoscaler: worker concurrency from backlog and wait time',
        tableAccess.autoscaler,
        { scale: true, submit: false },
      ],
      [
        'MaintenanceTicker',
        'scheduled/maintenance-ticker.ts',
        'Starts and ends maintenance windows',
        tableAccess.operating,
        { scale: true, submit: true },
      ],
      [
        'JobScheduler',
        'scheduled/job-scheduler.ts',
        'Enqueues the jobs of due cron schedules',
        tableAccess.operating,
        { scale: false, submit: true },
      ],
      [
        'AlertEvaluator',
        'scheduled/alert-evaluator.ts',
        'Evaluates the alert rules, opens and resolves alerts, tells their webhooks, mailboxes and topics',
        tableAccess.alerting,
        { scale: false, submit: false, depth: true, notify: true },
      ],
    ] as const) {
      const task = new ScheduledTask(this, id, {
        entry,
        description,
        environment: {
          ...opsEnv,
          ...tables.environmentFor(access),
          ...('depth' in grants ? { OUTBOUND_ALLOW_LIST: outboundAllowList } : {}),
        },
      });
      if (grants.scale) grantQueueOperations(task.function, true);
      // The alerts read the backlog (queue depth), and change nothing of the queues.
      else if ('depth' in grants) grantQueueOperations(task.function, false);
      // Submitting: the job queues, and the timer of the next occurrence or window end.
      if (grants.submit) {
        grantSend(task.function);
        timers.grantArm(task.function);
      }
      tables.grant(task.function, access);
      if ('notify' in grants) {
        // An alert rule's sns action names its topic at run time (rules are data): any topic of
        // this account and region, no other (the API refuses a topic elsewhere).
        const topics = this.formatArn({ service: 'sns', resource: '*' });
        task.function.addToRolePolicy(new PolicyStatement({ actions: ['sns:Publish'], resources: [topics] }));
        Validations.of(task.function).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:*]',
          reason:
            "Alert rules name their SNS topics at run time: Publish on this account's topics in this region, nothing else",
        });
      }
    }
    // The failure model learns from the week's finished jobs: an hour between fits is plenty.
    const modelTrainer = new ScheduledTask(this, 'ModelTrainer', {
      entry: 'scheduled/model-trainer.ts',
      description: 'Trains the failure model on the last week of finished jobs',
      environment: { ...tables.environmentFor(tableAccess.modelTraining) },
      interval: Duration.hours(1),
      timeout: Duration.minutes(5),
    });
    tables.grant(modelTrainer.function, tableAccess.modelTraining);

    // Analytics from the data: every change of a job row (whoever wrote it) reaches the metric
    // buckets through the jobs table's stream, in batches, off the job path.
    const analytics = new TableStreamConsumer(this, 'JobAnalytics', {
      tables: [tables.jobs],
      entry: 'workers/job-analytics.ts',
      description: 'Analytics recorder: metric buckets from the jobs table stream',
      environment: tables.environmentFor(tableAccess.analytics),
    });
    tables.grant(analytics.function, tableAccess.analytics);

    // The event stream: every state change as an event, made of the tables' changes.
    // Real-time push: the WebSocket API; the publisher pushes each event to the sockets it matches.
    const realtime = new RealtimePush(this, 'Realtime', {
      environment: tables.environmentFor(tableAccess.realtime),
    });
    tables.grant(realtime.connections, tableAccess.realtime);
    const eventStream = new FactoryEventStream(this, 'EventStream', {
      sources: {
        jobs: tables.jobs,
        orders: tables.orders,
        operations: tables.operations,
        workers: tables.workers,
      },
      environment: {
        ...tables.environmentFor(tableAccess.events),
        EVENT_RETENTION_HOURS: String(eventRetentionHours),
        REALTIME_URL: realtime.url,
      },
    });
    tables.grant(eventStream.publisher.function, tableAccess.events);
    realtime.grantPush(eventStream.publisher.function);

    // Redoes follow-ups a crash or a failed send left undone, hands long delays to SQS when they
    // come within 15 minutes, recovers jobs whose worker stopped heartbeating, and wakes jobs
    // whose wake-up an invocation that stopped still holds.
    const dispatcher = new ScheduledTask(this, 'JobDispatcher', {
      entry: 'scheduled/job-dispatcher.ts',
      description: 'Job dispatcher: due markers, long delays, expired leases, held wake-ups',
      environment: { ...engineEnv, ...tables.environmentFor(tableAccess.dispatcher) },
    });
    tables.grant(dispatcher.function, tableAccess.dispatcher);
    // Sending also reads a band queue's depth: the held wake-ups' backstop needs both.
    grantSend(dispatcher.function);
    // A robot step whose worker vanished is reported to its workflow (StepLost).
    for (const workflow of workflows) workflow.stateMachine.grantTaskResponse(dispatcher.function);

    const engineWrites = { ...engineEnv, ASSEMBLY_WORKFLOWS: assemblyWorkflows };
    /** A GET route on these tables (read only). */
    const reading = (...read: TableAccess['read'] & {}): Pick<FactoryRoute, 'tables'> => ({
      tables: { read },
    });
    const routes: FactoryRoute[] = [
      {
        method: HttpMethod.POST,
        path: '/orders',
        entry: 'api/create-order.ts',
        role: 'developer',
        tables: { write: ['orders'] },
        environment: {
          ASSEMBLY_WORKFLOWS: assemblyWorkflows,
          SIMULATION_ENABLED: String(props.simulation ?? false),
        },
      },
      ...routeFamily(
        'api/orders.ts',
        { environment: engineWrites, tables: tableAccess.retry, sendsJobs: true, role: 'developer' },
        ['GET /orders', 'GET /orders/{orderId}', 'DELETE /orders/{orderId}', 'POST /orders/{orderId}/retry'],
      ),
      {
        method: HttpMethod.GET,
        path: '/orders/{orderId}/status',
        entry: 'api/get-order-status.ts',
        environment: {},
        ...reading('orders', 'jobs'),
      },
      ...routeFamily('api/get-job.ts', { environment: {}, ...reading('jobs', 'orders') }, [
        'GET /jobs/{jobId}',
        'GET /jobs/{jobId}/graph',
      ]),
      {
        method: HttpMethod.GET,
        path: '/jobs/{jobId}/logs',
        entry: 'api/get-job-logs.ts',
        environment: {},
        ...reading('jobs', 'orders', 'jobLogs'),
      },
      { method: HttpMethod.GET, path: '/robot-types', entry: 'api/list-robot-types.ts', environment: {} },
      // The job engine
      {
        method: HttpMethod.POST,
        path: '/jobs',
        entry: 'api/submit-job.ts',
        role: 'developer',
        environment: engineEnv,
        tables: tableAccess.submission,
        sendsJobs: true,
      },
      {
        method: HttpMethod.POST,
        path: '/jobs/predict',
        entry: 'api/submit-job.ts',
        role: 'developer',
        environment: engineEnv,
        tables: tableAccess.submission,
        sendsJobs: true,
      },
      {
        method: HttpMethod.POST,
        path: '/jobs/bulk',
        entry: 'api/submit-jobs-bulk.ts',
        role: 'developer',
        environment: engineEnv,
        tables: tableAccess.intake,
        sendsJobs: true,
        timeout: Duration.seconds(29),
      },
      {
        method: HttpMethod.GET,
        path: '/jobs',
        entry: 'api/list-jobs.ts',
        environment: {},
        ...reading('jobs'),
      },
      // The live counts (metrics table), the listing index for rows older than them, the pauses.
      ...routeFamily(
        'api/job-counts.ts',
        { environment: {}, ...reading('jobs', 'metrics', 'operations'), timeout: Duration.seconds(29) },
        ['GET /jobs/stats', 'GET /jobs/queue'],
      ),
      {
        method: HttpMethod.DELETE,
        path: '/jobs/{jobId}',
        entry: 'api/cancel-job.ts',
        role: 'developer',
        environment: engineEnv,
        tables: tableAccess.intake,
        sendsJobs: true,
      },
      {
        method: HttpMethod.POST,
        path: '/jobs/{jobId}/retry',
        entry: 'api/retry-job.ts',
        role: 'developer',
        environment: engineWrites,
        tables: tableAccess.retry,
        sendsJobs: true,
      },
      {
        method: HttpMethod.GET,
        path: '/jobs/{jobId}/output',
        entry: 'api/get-job-output.ts',
        environment: engineEnv,
        ...reading('jobs'),
      },
      ...routeFamily('api/list-dead-jobs.ts', { environment: {}, ...reading('jobs') }, [
        'GET /dlq',
        'GET /dlq/causes',
      ]),
      {
        method: HttpMethod.POST,
        path: '/dlq/retry',
        entry: 'api/retry-dead-jobs.ts',
        role: 'developer',
        environment: engineWrites,
        tables: tableAccess.retry,
        sendsJobs: true,
        timeout: Duration.seconds(29),
      },
      {
        method: HttpMethod.DELETE,
        path: '/dlq/{jobId}',
        entry: 'api/discard-dead-job.ts',
        environment: engineEnv,
        tables: tableAccess.intake,
        sendsJobs: true,
      },
      {
        method: HttpMethod.GET,
        path: '/dlq/export',
        entry: 'api/export-dead-jobs.ts',
        environment: {},
        ...reading('jobs'),
        timeout: Duration.seconds(29),
      },
      {
        method: HttpMethod.POST,
        path: '/job-batches',
        entry: 'api/create-batch.ts',
        role: 'developer',
        environment: engineEnv,
        tables: { write: [...tableAccess.intake.write, 'jobBatches'] },
        sendsJobs: true,
        timeout: Duration.seconds(29),
      },
      ...routeFamily('api/get-batch.ts', { environment: {}, ...reading('jobBatches', 'jobs', 'metrics') }, [
        'GET /job-batches/{batchId}',
        'GET /job-batches/{batchId}/graph',
      ]),
      {
        method: HttpMethod.POST,
        path: '/realtime/tickets',
        entry: 'api/realtime-tickets.ts',
        // Any key may watch: the socket keeps the key's role.
        role: 'viewer',
        environment: { REALTIME_URL: realtime.url },
        tables: { write: ['realtime'] },
      },
      {
        method: HttpMethod.GET,
        path: '/events',
        entry: 'api/list-events.ts',
        environment: { EVENT_RETENTION_HOURS: String(eventRetentionHours) },
        // The events, and where a job's or order's events begin (its creation).
        ...reading('events', 'jobs', 'orders'),
      },
      {
        method: HttpMethod.GET,
        path: '/outbox',
        entry: 'api/list-outbox.ts',
        environment: {},
        ...reading('outbox'),
      },
      // Operations: workers, scaling, maintenance, cron, rate limits, analytics (one function per family)
      ...routeFamily(
        'api/workers.ts',
        // Scaling is recorded (operations); the worker list and its counters are read.
        {
          environment: opsEnv,
          operates: true,
          tables: { read: ['workers', 'metrics'], write: ['operations'] },
        },
        ['GET /workers/status', 'POST /workers/scale', 'GET /workers/scaling-events'],
      ),
      // The queues, their pauses (the mappings they disable; windows are read), rate limits and SLAs.
      ...routeFamily(
        'api/queue-controls.ts',
        { environment: { QUEUE_WIRING: queueWiring }, operates: true, tables: { write: ['operations'] } },
        [
          'GET /queues',
          'PUT /queues/{queue}/rate-limit',
          'DELETE /queues/{queue}/rate-limit',
          'PUT /queues/{queue}/sla',
          'DELETE /queues/{queue}/sla',
          'POST /queues/{queue}/pause',
          'POST /queues/{queue}/resume',
          'POST /queues/pause',
          'POST /queues/resume',
        ],
      ),
      ...routeFamily(
        'api/maintenance.ts',
        // A window may submit its maintenance job: the intake's tables too.
        { environment: opsEnv, operates: true, sendsJobs: true, tables: tableAccess.operating },
        ['POST /factory/maintenance', 'GET /factory/maintenance', 'DELETE /factory/maintenance/{windowId}'],
      ),
      // Recurring jobs are jobs a developer submits; scaling, windows and rate limits are admins'.
      ...routeFamily(
        'api/scheduled-jobs.ts',
        {
          environment: opsEnv,
          tables: { write: ['operations', ...tableAccess.intake.write] },
          sendsJobs: true,
          role: 'developer',
        },
        [
          'POST /scheduled-jobs',
          'GET /scheduled-jobs',
          'GET /scheduled-jobs/{scheduleId}',
          'PATCH /scheduled-jobs/{scheduleId}',
          'DELETE /scheduled-jobs/{scheduleId}',
        ],
      ),
      // Alert rules are an operator's (admin); the alerts are open to every key.
      ...routeFamily('api/alerts.ts', { environment: {}, role: 'admin', tables: { write: ['operations'] } }, [
        'POST /alerts/rules',
        'GET /alerts/rules',
        'GET /alerts/rules/{ruleId}',
        'PATCH /alerts/rules/{ruleId}',
        'DELETE /alerts/rules/{ruleId}',
        'GET /alerts',
      ]),
      ...routeFamily(
        'api/analytics.ts',
        {
          environment: opsEnv,
          reads: true,
          ...reading('jobs', 'metrics', 'operations', 'workers'),
          timeout: Duration.seconds(29),
        },
        [
          'GET /analytics/throughput',
          'GET /analytics/scaling-advice',
          'GET /analytics/slow-jobs',
          'GET /analytics/models',
          'GET /analytics/sla',
          'GET /analytics/retries',
          'GET /analytics/cost',
          'GET /analytics/forecast',
          'GET /analytics/errors',
          'GET /analytics/utilisation',
          'GET /metrics',
          'GET /metrics/queues',
          'GET /metrics/workers',
          'GET /metrics/jobs/timeline',
          'GET /metrics/job-duration-histogram',
        ],
      ),
    ];
    // Keys and the authorizer in front of every route but GET /health.
    const access = new ApiAccess(this, 'Access');
    const keyRoutes: FactoryRoute[] = [
      ['POST', '/api-keys'],
      ['GET', '/api-keys'],
      ['DELETE', '/api-keys/{keyId}'],
    ].map(([method, path]) => ({
      method: method as HttpMethod,
      path: path as string,
      entry: 'api/api-keys.ts',
      environment: { API_KEYS_TABLE: access.keys.tableName },
      role: 'admin',
    }));
    const api = new FactoryApi(this, 'Api', {
      access,
      tables,
      routes: [
        { method: HttpMethod.GET, path: '/health', entry: 'api/health.ts', environment: {}, public: true },
        // The operator console: its files are open, everything it calls needs the key signed in with.
        ...routeFamily(
          'api/console.ts',
          { environment: {}, public: true, bundledBuild: { script: 'console/build.mjs', into: 'console' } },
          ['GET /console', 'GET /console/{proxy+}'],
        ),
        // The contract: OpenAPI 3.1 from the handlers' zod schemas, and its reference page.
        ...routeFamily('api/contract.ts', { environment: {}, public: true, servesContract: true }, [
          'GET /openapi.json',
          'GET /docs',
          'GET /docs/{proxy+}',
        ]),
        ...keyRoutes,
        ...routes,
        // Seed 004's API, served as written: same handlers under /api/v1 (POST /api/v1/jobs answers
        // with the seed's {jobId, status, queuePosition}).
        { ...routeOf(routes, 'POST /jobs'), path: '/api/v1/jobs', entry: 'api/v1-jobs.ts', reads: true },
        ...[
          'GET /jobs',
          'POST /jobs/bulk',
          'GET /jobs/stats',
          'GET /jobs/{jobId}',
          'DELETE /jobs/{jobId}',
          'POST /jobs/{jobId}/retry',
          'GET /jobs/{jobId}/logs',
          'GET /queues',
          'GET /dlq',
          'POST /dlq/retry',
        ].map((key) => ({ ...routeOf(routes, key), path: `/api/v1${key.split(' ')[1]}` })),
        { ...routeOf(routes, 'GET /workers/status'), path: '/api/v1/workers' },
      ],
    });
    // Tables are granted by the API from each route's declaration; queues and mappings here,
    // once per function (a family of routes shares one).
    for (const fn of new Set(api.handlers.values())) {
      const served = api.routes.filter((r) => api.handlers.get(`${r.method} ${r.path}`) === fn);
      if (served.some((r) => r.operates)) grantQueueOperations(fn, true);
      else if (served.some((r) => r.reads)) grantQueueOperations(fn, false);
      if (served.some((r) => r.sendsJobs)) grantSend(fn);
    }
    artifacts.grantRead(api.handlers.get('GET /jobs/{jobId}/output') as FactoryFunction);
    // A new or resumed schedule arms the timer of its first occurrence; a window, its start and end.
    timers.grantArm(api.handlers.get('POST /scheduled-jobs') as FactoryFunction);
    timers.grantArm(api.handlers.get('POST /factory/maintenance') as FactoryFunction);
    for (const key of ['POST /jobs/{jobId}/retry', 'POST /dlq/retry', 'POST /orders/{orderId}/retry']) {
      const fn = api.handlers.get(key);
      if (fn) for (const workflow of workflows) workflow.stateMachine.grantStartExecution(fn);
    }
    const cancelOrder = api.handlers.get('DELETE /orders/{orderId}');
    if (cancelOrder) {
      for (const workflow of workflows)
        workflow.stateMachine.grantExecution(cancelOrder, 'states:StopExecution');
      for (const workflow of workflows) {
        const machine = this.getLogicalId(workflow.stateMachine.node.defaultChild as CfnElement);
        Validations.of(cancelOrder).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${machine}"}]}]}:*]`,
          reason:
            'StopExecution names an execution, whose ARN is known only per order: the grant is the executions of this one state machine',
        });
      }
    }
    const createOrder = api.handlers.get('POST /orders');
    if (createOrder) for (const workflow of workflows) workflow.stateMachine.grantStartExecution(createOrder);
    // The key routes see the keys table and nothing else.
    access.grantManageKeys(api.handlers.get('POST /api-keys') as FactoryFunction);

    // Starts workflows that an intake crash left unstarted (see functions/scheduled/intake-sweeper.ts).
    const sweeper = new ScheduledTask(this, 'IntakeSweeper', {
      entry: 'scheduled/intake-sweeper.ts',
      description: 'Starts assembly workflows of orders whose start was not confirmed',
      environment: { ...tables.environmentFor({ write: ['orders'] }), ASSEMBLY_WORKFLOWS: assemblyWorkflows },
      timeout: Duration.seconds(60),
    });
    tables.grant(sweeper.function, { write: ['orders'] });
    for (const workflow of workflows) workflow.stateMachine.grantStartExecution(sweeper.function);

    // Last: it covers every queue built above.
    new TlsOnlyQueues(this, 'TlsOnlyQueues');

    // The dashboard and alarms, over every queue with a dead-letter queue, function and workflow.
    const watched = this.node.findAll();
    this.monitoring = new FactoryMonitoring(this, 'Monitoring', {
      queues: watched
        .filter((c): c is Queue => c instanceof Queue && c.deadLetterQueue !== undefined)
        .map((queue) => ({
          name: displayNameOf(this, queue.node.path),
          queue,
          deadLetters: (queue.deadLetterQueue as DeadLetterQueue).queue,
        })),
      functions: watched
        .filter((c): c is FactoryFunction => c instanceof FactoryFunction)
        .map((fn) => ({ name: displayNameOf(this, fn.node.path), fn })),
      stateMachines: workflows.map((w) => ({
        name: displayNameOf(this, w.stateMachine.node.path),
        machine: w.stateMachine,
      })),
      alarmEmail: props.alarmEmail,
    });

    acknowledgeReviewedFindings(
      this,
      [
        tables.orders,
        tables.jobs,
        tables.jobLogs,
        tables.workers,
        tables.outbox,
        tables.jobBatches,
        tables.operations,
        tables.metrics,
        access.keys,
      ],
      artifacts,
    );
  }
}

/**
 * Which tables each kind of function uses (its environment and its grants come from this; the
 * routes' own declarations are beside them below).
 */
const tableAccess = {
  /** Submits, cancels, discards and dispatches standalone jobs: the rows and their logs. */
  intake: { write: ['jobs', 'jobLogs'] },
  /** POST /jobs and /jobs/predict: intake, and the failure model with the type's last hour. */
  submission: { read: ['metrics'], write: ['jobs', 'jobLogs'] },
  /** Settles lost attempts like intake settles jobs, and marks their workers lost. */
  dispatcher: { write: ['jobs', 'jobLogs', 'workers'] },
  /** Retries jobs and resumes orders (a robot step's retry moves its order on). */
  retry: { write: ['jobs', 'jobLogs', 'orders'] },
  /** A job worker: claims, settles, logs, beats, rate-limits and writes the outbox. */
  jobWorker: { read: ['metrics'], write: ['jobs', 'jobLogs', 'workers', 'outbox', 'operations'] },
  /** Timers, windows and cron: their rows, and the jobs they submit; workers and metrics are read. */
  operating: { read: ['workers', 'metrics'], write: ['operations', 'jobs', 'jobLogs'] },
  /** The model trainer: finished jobs and the hour buckets in, the model out. */
  modelTraining: { read: ['jobs'], write: ['metrics'] },
  /** The analytics recorder: the metric buckets, from the jobs table's stream. */
  analytics: { write: ['metrics'] },
  /** The event publisher: the recent events, from the tables' streams; it forgets gone sockets. */
  events: { write: ['events', 'realtime'] },
  /** WebSocket tickets and connections. */
  realtime: { write: ['realtime'] },
  /** Reads the minute buckets; owns the alert rules and alerts (operations table); mails notices to the outbox. */
  alerting: { read: ['metrics'], write: ['operations', 'outbox'] },
  /** Reads the backlog and records its scaling decisions. */
  autoscaler: { read: ['jobs', 'jobLogs', 'metrics', 'workers'], write: ['operations'] },
} as const satisfies Record<string, TableAccess>;

const routeOf = (routes: readonly FactoryRoute[], key: string): FactoryRoute => {
  const route = routes.find((r) => `${r.method} ${r.path}` === key);
  if (!route) throw new Error(`No route ${key} to alias`);
  return route;
};

/** How long GET /events lists an event (the bus's archive keeps it 90 days). */
const eventRetentionHours = 72;

/** Routes served by one handler module (`byRoute`), from "METHOD /path" keys. */
function routeFamily(
  entry: string,
  settings: Omit<FactoryRoute, 'method' | 'path' | 'entry'>,
  keys: readonly string[],
): FactoryRoute[] {
  return keys.map((key) => {
    const [method, path] = key.split(' ') as [string, string];
    // A family's role is for its writes: its reads stay open to every key.
    const role = method === 'GET' ? undefined : settings.role;
    return { ...settings, role, entry, method: method as HttpMethod, path };
  });
}

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);

/**
 * Reviewed findings of cdk-nag (test/infra/nag.test.ts) that hold stack-wide, each with its
 * reason. What can be fixed is fixed where it is built; these are what remains by design.
 */
function acknowledgeReviewedFindings(stack: Stack, tables: readonly ITable[], artifacts: Bucket): void {
  const acknowledge = (id: string, reason: string) => Validations.of(stack).acknowledge({ id, reason });
  for (const table of tables) {
    const logicalId = stack.getLogicalId(table.node.defaultChild as CfnElement);
    acknowledge(
      `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
      'A grant on a table includes its indexes (Query by index needs the index ARN); grants name the table, never all tables',
    );
  }
  const artifactsId = stack.getLogicalId(artifacts.node.defaultChild as CfnElement);
  acknowledge(
    `AwsSolutions-IAM5[Resource::<${artifactsId}.Arn>/*]`,
    "Job outputs are objects of the artifacts bucket, one key per job: the grant is the bucket's objects, no other bucket",
  );
  for (const action of ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'])
    acknowledge(
      `AwsSolutions-IAM5[Action::${action}]`,
      "CDK's read/write grant on the artifacts bucket alone (GetObject with its versions and ACL reads, multipart aborts)",
    );
  acknowledge(
    'Serverless-SQSRedrivePolicy',
    'The queues flagged are the dead-letter queues themselves; every work queue has one (asserted in the infra tests)',
  );
  acknowledge(
    'AwsSolutions-S1',
    'The artifacts bucket holds job outputs readable through the API, which logs each request (the stage access log); S3 access logs would need a log bucket of their own',
  );
  acknowledge(
    'AwsSolutions-APIG4',
    'Only GET /health and the console files (GET /console/…) are open, by design: the one answers {"status":"ok"}, the other static files; every call the console makes needs an API key',
  );
}
