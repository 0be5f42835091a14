import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { robotTypes } from '../../functions/domain/catalog.ts';
import { workerMemoryMb } from '../../functions/domain/cost-model.ts';
import { jobMetricsNamespace, type SettledOutcome } from '../../functions/domain/job-outcome-metrics.ts';
import { bandNames, jobQueueNames, jobQueues } from '../../functions/domain/job-queues.ts';
import { productionLineNames, productionLines } from '../../functions/domain/production-lines.ts';
import { HeldJobOutcomes, publishJobOutcome } from '../../functions/shared/metrics.ts';
import { FactoryFunction } from '../../infra/constructs/factory-function.ts';
import { FactoryStack } from '../../infra/factory-stack.ts';
import { bundleBudgetBytes, functionBundles } from '../../localstack/bench/bundles.ts';

let template: Template;
let monitoring: Template;
type Resources = Record<string, { Properties: Record<string, any> }>;

beforeAll(() => {
  // Prepare: bundling skipped, the template is what matters here.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new FactoryStack(app, 'TestFactory', { alarmEmail: 'ops@example.com' });
  template = Template.fromStack(stack);
  monitoring = Template.fromStack(stack.monitoring);
});

/** Resources of the HTTP API only (the WebSocket API of real-time push has its own). */
const ofHttpApi = (type: string): Resources =>
  Object.fromEntries(
    Object.entries(template.findResources(type) as Resources).filter(([, r]) =>
      String(r.Properties.ApiId?.Ref ?? '').startsWith('ApiHttpApi'),
    ),
  );

const definitionOf = (logicalIdPrefix: string) => {
  const [, machine] = Object.entries(
    template.findResources('AWS::StepFunctions::StateMachine') as Resources,
  ).find(([id]) => id.startsWith(logicalIdPrefix)) as [string, { Properties: Record<string, any> }];
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  // References (queue URLs, table names, partition) sit inside string values: mark them in place.
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join(''));
};

const allStates = (definition: any): Record<string, any> => {
  const states: Record<string, any> = {};
  for (const [name, state] of Object.entries<any>(definition.States)) {
    states[name] = state;
    for (const branch of state.Branches ?? []) Object.assign(states, allStates(branch));
  }
  return states;
};

describe('tables', () => {
  it('are on-demand with point-in-time recovery', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    expect(Object.keys(tables)).toHaveLength(11);
    for (const table of Object.values(tables)) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('all expire rows by TTL: nothing grows without limit', () => {
    const tables = template.findResources('AWS::DynamoDB::Table') as Resources;
    for (const table of Object.values(tables))
      expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('tell every function how long rows stay, with deploy-time defaults', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          JOB_RETENTION_DAYS: '7',
          DEAD_JOB_RETENTION_DAYS: '30',
          ORDER_RETENTION_DAYS: '90',
          OPERATIONS_RETENTION_DAYS: '90',
        }),
      },
    });
  });

  it('index step jobs by order, so status reads never Scan', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'byOrder' })]),
    });
  });
});

describe('production lines', () => {
  it('give every work queue a dead-letter queue with an explicit maxReceiveCount', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    const workQueues = Object.entries(queues).filter(([id]) => !id.includes('DeadLetter'));
    const bandQueues = workQueues.filter(([id]) => !id.startsWith('Timers'));
    expect(bandQueues).toHaveLength((productionLineNames.length + jobQueueNames.length) * bandNames.length);
    for (const [id, queue] of workQueues) {
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringContaining('DeadLetterQueue'), 'Arn'] },
        // A timer that fails three times is left to the minute sweeps.
        maxReceiveCount: id.startsWith('Timers') ? 3 : 5,
      });
    }
  });

  it('feed each worker from one queue per priority band, with the band concurrency as MaximumConcurrency', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Resources);
    for (const line of productionLineNames) {
      for (const band of bandNames) {
        const prefix = `${line.charAt(0).toUpperCase()}${line.slice(1)}Line${band.charAt(0).toUpperCase()}${band.slice(1)}Queue`;
        const mapping = mappings.find((m) => m.Properties.EventSourceArn['Fn::GetAtt'][0].startsWith(prefix));
        expect(mapping?.Properties).toMatchObject({
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          ScalingConfig: { MaximumConcurrency: productionLines[line].concurrency[band] },
          BatchSize: 5,
        });
      }
    }
    // Six more: the precise timers, the analytics recorder (the jobs table's stream) and the
    // event publisher (the jobs, orders, operations and workers tables' streams).
    expect(mappings).toHaveLength((productionLineNames.length + jobQueueNames.length) * bandNames.length + 6);
  });

  it('give each worker the memory the cost model prices its GB-seconds at', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function') as Resources);
    const memoryOf = (description: string) =>
      functions.find((f) => f.Properties.Description === description)?.Properties.MemorySize;
    for (const queue of jobQueueNames)
      expect(memoryOf(`Job worker of the ${queue} queue`), queue).toBe(workerMemoryMb(queue));
    for (const line of productionLineNames)
      expect(memoryOf(`Step worker of the ${line} line`), line).toBe(workerMemoryMb(line));
  });

  it('keep the visibility timeout at six times the worker timeout', () => {
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    const worker = Object.entries(functions).find(([id]) => id.startsWith('FabricationLineWorker'))?.[1];
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: (worker?.Properties.Timeout as number) * 6,
    });
  });
});

describe('the stack', () => {
  it("stays within CloudFormation's 500 resources per stack", () => {
    // 433 since the functions share one log group (484 before); 460 with the alerts and the
    // intelligence routes; 474 with the admin analytics (six GET routes, an SLA's PUT and
    // DELETE: one route resource each). About twenty-five under the limit stay free for what an
    // operator adds on deploy; dashboards and alarms go to a stack of their own. The next
    // family of routes should share routes (a path parameter) or move to a nested stack.
    expect(Object.keys(template.toJSON().Resources).length).toBeLessThanOrEqual(475);
  });

  it("stays well within CloudFormation's 1 MB template", () => {
    expect(JSON.stringify(template.toJSON()).length).toBeLessThan(800_000);
  });

  it('sends every function to one log group with a retention', () => {
    const groups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 14 },
    }) as Resources;
    const functionLogs = Object.keys(groups).filter((id) => id.startsWith('FunctionLogs'));
    expect(functionLogs).toHaveLength(1);
    const functions = Object.entries(template.findResources('AWS::Lambda::Function') as Resources);
    expect(functions.length).toBeGreaterThan(40);
    for (const [id, fn] of functions) {
      expect({ id, group: (fn.Properties.LoggingConfig as { LogGroup?: unknown })?.LogGroup }).toEqual({
        id,
        group: { Ref: functionLogs[0] },
      });
    }
  });

  it('refuses requests without TLS on every queue, with one policy for all of them', () => {
    const queues = Object.keys(template.findResources('AWS::SQS::Queue'));
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy') as Resources);
    expect(policies).toHaveLength(1);
    const [policy] = policies as [Resources[string]];
    expect(policy.Properties.Queues.map((q: { Ref: string }) => q.Ref).sort()).toEqual([...queues].sort());
    const [statement] = policy.Properties.PolicyDocument.Statement;
    expect(statement).toMatchObject({
      Effect: 'Deny',
      Action: 'sqs:*',
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    expect(statement.Resource).toHaveLength(queues.length);
  });
});

describe('functions', () => {
  it('all run Node 22 on arm64', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function') as Resources)) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
    }
  });

  it('turn the simulation hook off unless asked', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SIMULATION_ENABLED: 'false' }) },
    });
  });
});

describe('assembly workflows', () => {
  it('are Standard state machines in JSONPath, one per robot type', () => {
    const machines = template.findResources('AWS::StepFunctions::StateMachine') as Resources;
    expect(Object.keys(machines)).toHaveLength(robotTypes.length);
    for (const machine of Object.values(machines))
      expect(machine.Properties.StateMachineType).toBe('STANDARD');
    for (const robotType of robotTypes) {
      const prefix = `${robotType.name.charAt(0).toUpperCase()}${robotType.name.slice(1)}Assembly`;
      expect(definitionOf(prefix).QueryLanguage).toBe('JSONPath');
    }
  });

  it.each(robotTypes.map((r) => [r.name, r] as const))(
    '%s: every step waits for a task token in its band queue, with retries for attempts and for dispatch faults',
    (_name, robotType) => {
      const prefix = `${robotType.name.charAt(0).toUpperCase()}${robotType.name.slice(1)}Assembly`;
      const states = allStates(definitionOf(prefix));
      for (const step of robotType.steps) {
        const state = states[`Run ${step.name}`];
        expect(state.Resource).toContain(':states:::sqs:sendMessage.waitForTaskToken');
        expect(state.Parameters['QueueUrl.$']).toMatch(
          /^States\.ArrayGetItem\(States\.Array\(.+\), \$\.band\)$/,
        );
        expect(state.Parameters.MessageBody['taskToken.$']).toBe('$$.Task.Token');
        expect(state.Parameters.MessageBody['retryCount.$']).toBe('$$.State.RetryCount');
        expect(state.Parameters.MessageBody['executionStartedAt.$']).toBe('$$.Execution.StartTime');
        // Waiting for a worker is no attempt: only backstops of days, nobody heartbeats.
        expect(state.TimeoutSeconds).toBe(8 * 86_400);
        expect(state.HeartbeatSeconds).toBe(8 * 86_400 - 3600);
        expect(state.Retry[0]).toEqual({
          ErrorEquals: ['StepFailed', 'StepTimedOut', 'StepLost'],
          IntervalSeconds: step.retry.intervalSeconds,
          MaxAttempts: step.retry.maxRetries,
          BackoffRate: step.retry.backoffRate,
          MaxDelaySeconds: step.retry.maxDelaySeconds,
          JitterStrategy: step.retry.jitter,
        });
        expect(state.Retry[1]).toMatchObject({
          ErrorEquals: expect.arrayContaining(['SQS.AmazonSQSException', 'SQS.InternalFailure']),
          MaxAttempts: 10,
        });
        expect(state.Catch).toEqual([
          { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `Record ${step.name} dead` },
        ]);
        // A step found COMPLETED when it was to be marked dead lets the order carry on.
        const markDead = states[`Record ${step.name} dead`];
        expect(markDead.Catch[0]).toMatchObject({
          ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'],
          Next: `${step.name} completed after all`,
        });
      }
    },
  );

  it('runs independent steps in a Parallel state', () => {
    const definition = definitionOf('CourierAssembly');
    const parallel = Object.values<any>(definition.States).find((s) => s.Type === 'Parallel');
    const branchStarts = parallel.Branches.map((b: { StartAt: string }) => b.StartAt).sort();
    expect(branchStarts).toEqual(['Run assemble_chassis', 'Run assemble_drivetrain', 'Run assemble_sensors']);
  });
});

describe('HTTP API', () => {
  it('routes the foundation endpoints to Lambda', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /jobs/{jobId}',
        'GET /jobs/{jobId}/logs',
        'GET /orders/{orderId}/status',
        'GET /robot-types',
        'POST /orders',
      ]),
    );
    for (const integration of Object.values(ofHttpApi('AWS::ApiGatewayV2::Integration')))
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
  });
});

describe('job engine', () => {
  it('routes every job-engine endpoint to Lambda', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /jobs',
        'POST /jobs/bulk',
        'GET /jobs',
        'GET /jobs/queue',
        'GET /jobs/stats',
        'DELETE /jobs/{jobId}',
        'POST /jobs/{jobId}/retry',
        'GET /jobs/{jobId}/output',
        'GET /queues',
        'GET /dlq',
        'POST /dlq/retry',
        'DELETE /dlq/{jobId}',
        'GET /dlq/export',
        'POST /job-batches',
        'GET /job-batches/{batchId}',
        'GET /outbox',
      ]),
    );
  });

  it('gives each queue one SQS queue per priority band, its weight as MaximumConcurrency, ten wake-ups an invocation without a batching window', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Resources;
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Resources);
    for (const name of jobQueueNames) {
      const prefix = `${name.charAt(0).toUpperCase()}${name.slice(1)}JobQueue`;
      for (const band of bandNames) {
        const bandId = Object.keys(queues).find((id) =>
          id.startsWith(`${prefix}${band.charAt(0).toUpperCase()}${band.slice(1)}Queue`),
        );
        expect(bandId, `${name}/${band}`).toBeDefined();
        const mapping = mappings.find(
          (m) =>
            JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify({ 'Fn::GetAtt': [bandId, 'Arn'] }),
        );
        expect(mapping?.Properties.ScalingConfig).toEqual({
          MaximumConcurrency: jobQueues[name].concurrency[band],
        });
        expect(mapping?.Properties.BatchSize).toBe(10);
        expect(mapping?.Properties.MaximumBatchingWindowInSeconds ?? 0).toBe(0);
        expect(mapping?.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      }
    }
  });

  it('indexes jobs for listings, the dispatcher, orders and band priority; batches count off the stream (no Scan anywhere)', () => {
    const jobs = Object.entries(template.findResources('AWS::DynamoDB::Table') as Resources).find(([id]) =>
      id.startsWith('TablesJobs'),
    )?.[1];
    const indexes = ((jobs?.Properties.GlobalSecondaryIndexes ?? []) as { IndexName: string }[]).map(
      (i) => i.IndexName,
    );
    expect(indexes.sort()).toEqual(['byOrder', 'byQueueStatus', 'dispatchDue', 'ready']);
  });

  it('sweeps due markers and expired leases every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: Match.arrayWith([
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobDispatcherFunction'), 'Arn'] },
        }),
      ]),
    });
  });

  it("lets the dispatcher read the job queues' band depths (its held wake-ups' backstop), not the lines'", () => {
    const policies = Object.entries({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    }).filter(([id]) => id.startsWith('JobDispatcher'));
    const depthReads = policies.flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).filter((s) =>
        JSON.stringify(s.Action).includes('sqs:GetQueueAttributes'),
      ),
    );
    const resources = depthReads.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    const queues = resources.map((r) => (r as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]).sort();
    // Each job queue's three band queues, exactly: no production line's, no dead-letter queue.
    const expected = jobQueueNames.flatMap((name) =>
      bandNames.map(
        (band) =>
          `${name[0]?.toUpperCase()}${name.slice(1)}JobQueue${band[0]?.toUpperCase()}${band.slice(1)}Queue`,
      ),
    );
    expect(queues.map((id) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(expected.sort());
  });

  it('never lets standalone-job functions start Step Functions executions', () => {
    const policies = Object.entries({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    });
    const startersOf = policies
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('states:StartExecution'))
      .map(([id]) => id);
    for (const id of startersOf)
      expect(id).toMatch(/^(ApiCreateOrder|ApiOrders|ApiRetryJob|ApiRetryDeadJobs|IntakeSweeper)/);
  });

  it('keeps job outputs in a private, encrypted bucket with expiry', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      BucketEncryption: Match.anyValue(),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, Status: 'Enabled' })] },
    });
  });
});

describe('operations', () => {
  it('routes the operator endpoints, a family of routes to one function', () => {
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route') as Resources).map(
      (r) => r.Properties.RouteKey,
    );
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /workers/status',
        'POST /workers/scale',
        'GET /workers/scaling-events',
        'POST /factory/maintenance',
        'GET /factory/maintenance',
        'DELETE /factory/maintenance/{windowId}',
        'POST /scheduled-jobs',
        'GET /scheduled-jobs',
        'GET /scheduled-jobs/{scheduleId}',
        'PATCH /scheduled-jobs/{scheduleId}',
        'DELETE /scheduled-jobs/{scheduleId}',
        'PUT /queues/{queue}/rate-limit',
        'PUT /queues/{queue}/sla',
        'DELETE /queues/{queue}/sla',
        'GET /analytics/throughput',
        'GET /analytics/sla',
        'GET /analytics/retries',
        'GET /analytics/cost',
        'GET /analytics/forecast',
        'GET /analytics/errors',
        'GET /analytics/utilisation',
        'GET /metrics/queues',
        'GET /metrics/workers',
        'GET /metrics/jobs/timeline',
        'GET /metrics/job-duration-histogram',
      ]),
    );
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(functions.filter((id) => id.startsWith('ApiScheduledJobs'))).toHaveLength(1);
  });

  it('runs the autoscaler, the cron scheduler and the maintenance ticker every minute', () => {
    for (const prefix of ['Autoscaler', 'JobScheduler', 'MaintenanceTicker']) {
      template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 minute)',
        Targets: Match.arrayWith([
          Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}Function`), 'Arn'] } }),
        ]),
      });
    }
  });

  it('lets only the operators change event source mappings, and only the factory mappings', () => {
    // Roles with many grants overflow into managed policies: look at both.
    const policies = Object.entries({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    });
    const writers = policies.filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('lambda:UpdateEventSourceMapping'),
    );
    expect([...new Set(writers.map(([id]) => id.replace(/ServiceRole.*$/, '')))].sort()).toEqual([
      'ApiMaintenance',
      'ApiQueueControls',
      'ApiWorkers',
      'AutoscalerFunction',
      'MaintenanceTickerFunction',
      'TimersFunction',
    ]);
    for (const [, policy] of writers) {
      const statement = policy.Properties.PolicyDocument.Statement.find((s: { Action: unknown }) =>
        JSON.stringify(s.Action).includes('UpdateEventSourceMapping'),
      );
      expect(statement.Resource).not.toBe('*');
      expect(JSON.stringify(statement.Resource)).toContain('event-source-mapping');
    }
  });
});

describe('alerts', () => {
  it('let only the alert evaluator publish to SNS, to topics of its own account and region, and write the outbox', () => {
    // Prepare: roles with many grants overflow into managed policies: look at both.
    const policies = Object.entries({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    });

    // Act
    const publishers = policies.filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('sns:Publish'),
    );

    // Assess
    expect(publishers.map(([id]) => id.replace(/ServiceRole.*$/, ''))).toEqual(['AlertEvaluatorFunction']);
    const statement = publishers[0]?.[1].Properties.PolicyDocument.Statement.find(
      (s: { Action: unknown }) => s.Action === 'sns:Publish',
    );
    expect(statement.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':sns:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':*',
        ],
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: Match.anyValue(),
      Description: Match.stringLikeRegexp('^Evaluates the alert rules'),
      Environment: {
        Variables: Match.objectLike({ OUTBOX_TABLE: { Ref: Match.stringLikeRegexp('^TablesOutbox') } }),
      },
    });
  });
});

describe('access control', () => {
  const routes = () => ofHttpApi('AWS::ApiGatewayV2::Route');
  const logicalIdOf = (type: string, prefix: string) =>
    Object.keys(template.findResources(type)).find((id) => id.startsWith(prefix)) as string;
  const authorizerId = () => logicalIdOf('AWS::ApiGatewayV2::Authorizer', 'ApiHttpApiKeyAuthorizer');
  const policiesOf = (rolePrefix: string) =>
    Object.values({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    }).filter((p) => JSON.stringify(p.Properties.Roles ?? []).includes(rolePrefix));

  /** Open without a key: the health check and the console's static files (its calls need a key). */
  const openRoutes = [
    'GET /health',
    'GET /console',
    'GET /console/{proxy+}',
    'GET /openapi.json',
    'GET /docs',
    'GET /docs/{proxy+}',
  ];

  it('puts every route but GET /health, the console files and the API contract, $default included, behind the Lambda authorizer', () => {
    const all = Object.values(routes());
    expect(all.length).toBeGreaterThan(50);
    for (const route of all) {
      if (openRoutes.includes(route.Properties.RouteKey)) {
        expect(route.Properties.AuthorizationType).toBe('NONE');
        continue;
      }
      expect(route.Properties, route.Properties.RouteKey).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId() },
      });
    }
    expect(all.map((r) => r.Properties.RouteKey)).toEqual(
      expect.arrayContaining(['$default', ...openRoutes]),
    );
  });

  it('runs the authorizer on every request with simple responses (refusals are answered by the route)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      AuthorizerResultTtlInSeconds: 0,
      IdentitySource: [],
    });
  });

  it("gives the authorizer each route's least role: reads for viewers, submissions for developers, the rest for admins", () => {
    const fn = Object.values(template.findResources('AWS::Lambda::Function') as Resources).find(
      (f) => f.Properties.Environment?.Variables?.ROUTE_ACCESS,
    );
    const access = JSON.parse(fn?.Properties.Environment.Variables.ROUTE_ACCESS);
    expect(access).toMatchObject({
      'GET /jobs': 'viewer',
      'GET /dlq/export': 'viewer',
      'POST /jobs': 'developer',
      'POST /jobs/bulk': 'developer',
      'DELETE /jobs/{jobId}': 'developer',
      'POST /orders': 'developer',
      'POST /orders/{orderId}/retry': 'developer',
      'POST /dlq/retry': 'developer',
      'POST /api/v1/jobs': 'developer',
      'POST /workers/scale': 'admin',
      'POST /factory/maintenance': 'admin',
      'PUT /queues/{queue}/rate-limit': 'admin',
      'PUT /queues/{queue}/sla': 'admin',
      'DELETE /queues/{queue}/sla': 'admin',
      'GET /analytics/sla': 'viewer',
      'GET /analytics/retries': 'viewer',
      'GET /analytics/cost': 'viewer',
      'GET /analytics/forecast': 'viewer',
      'GET /analytics/errors': 'viewer',
      'GET /analytics/utilisation': 'viewer',
      'DELETE /dlq/{jobId}': 'admin',
      'POST /api-keys': 'admin',
      'GET /api-keys': 'admin',
      'DELETE /api-keys/{keyId}': 'admin',
      'POST /alerts/rules': 'admin',
      'PATCH /alerts/rules/{ruleId}': 'admin',
      'GET /alerts': 'viewer',
    });
    for (const key of openRoutes) expect(access[key]).toBeUndefined();
    const routeKeys = Object.values(routes()).map((r) => r.Properties.RouteKey as string);
    for (const key of routeKeys)
      if (!openRoutes.includes(key) && key !== '$default') expect(access[key], key).toBeDefined();
  });

  it('keeps key hashes in a table of their own: the authorizer reads and touches it, the key routes manage it', () => {
    const keysTable = logicalIdOf('AWS::DynamoDB::Table', 'AccessApiKeys');
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'keyHash', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byKeyId', Projection: { ProjectionType: 'KEYS_ONLY' } }),
      ],
    });
    const authorizerPolicies = JSON.stringify(policiesOf('AccessAuthorizerServiceRole'));
    expect(authorizerPolicies).toContain(keysTable);
    expect(authorizerPolicies).not.toContain('dynamodb:PutItem');
    expect(authorizerPolicies).not.toContain('JobsTable');
    // Only the key routes' function (and no GET route of the factory) may read the keys.
    const readers = Object.entries({
      ...(template.findResources('AWS::IAM::Policy') as Resources),
      ...(template.findResources('AWS::IAM::ManagedPolicy') as Resources),
    })
      .filter(([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes(keysTable))
      .map(([id]) => id.replace(/ServiceRole.*$/, ''));
    expect([...new Set(readers)].sort()).toEqual(['AccessAuthorizer', 'ApiApiKeys']);
  });

  describe('least privilege: each function the tables its code uses, and only those', () => {
    const writeActions = [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ];
    const tableIds = () => Object.keys(template.findResources('AWS::DynamoDB::Table'));
    /** 'TablesJobLogsEC9F431A' → 'jobLogs', 'AccessApiKeys09F10F1D' → 'apiKeys' */
    const shortName = (tableId: string) => {
      const name = tableId.replace(/^(Tables|Access)/, '').replace(/[0-9A-F]{8}$/, '');
      return name.charAt(0).toLowerCase() + name.slice(1);
    };
    const functions = () => template.findResources('AWS::Lambda::Function') as Resources;
    /** The function serving a route (its description lists the routes it serves). */
    const functionOf = (routeKey: string) => {
      const found = Object.entries(functions()).find(([, f]) =>
        String(f.Properties.Description ?? '')
          .split(', ')
          .includes(routeKey),
      );
      if (!found) throw new Error(`no function serves ${routeKey}`);
      return found[0];
    };
    const byDescription = (prefix: string) =>
      Object.entries(functions()).find(([, f]) =>
        String(f.Properties.Description).startsWith(prefix),
      )?.[0] as string;
    /** Per table the function's policies name: 'write' when any write action is granted on it. */
    const tableAccessOf = (functionId: string): Record<string, 'read' | 'write'> => {
      const roleId = functions()[functionId]?.Properties.Role['Fn::GetAtt'][0];
      const access: Record<string, 'read' | 'write'> = {};
      for (const policy of policiesOf(roleId)) {
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          const actions = [statement.Action].flat() as string[];
          if (!actions.some((a) => a.startsWith('dynamodb:'))) continue;
          const resources = JSON.stringify(statement.Resource);
          // Reading a table's stream (an event source) is not reading the table.
          if (resources.includes('"StreamArn"')) continue;
          for (const id of tableIds()) {
            if (!resources.includes(`"${id}"`)) continue;
            const writes = actions.some((a) => writeActions.includes(a));
            access[shortName(id)] = writes || access[shortName(id)] === 'write' ? 'write' : 'read';
          }
        }
      }
      return access;
    };
    /** The tables whose names the function is given. */
    const tablesInEnvironmentOf = (functionId: string) =>
      Object.values(functions()[functionId]?.Properties.Environment?.Variables ?? {})
        .filter((v: any) => v?.Ref && tableIds().includes(v.Ref))
        .map((v: any) => shortName(v.Ref))
        .sort();

    it('gives every function the names of exactly the tables it is granted', () => {
      const ids = Object.keys(functions());
      expect(ids.length).toBeGreaterThan(40);
      for (const id of ids)
        expect(tablesInEnvironmentOf(id), id).toEqual(Object.keys(tableAccessOf(id)).sort());
    });

    it('lets GET routes read, never write', () => {
      const readOnly = Object.entries(functions()).filter(([, f]) => {
        const keys = String(f.Properties.Description ?? '').split(', ');
        return (
          keys.every((k) => k.startsWith('GET /')) &&
          !keys.includes('GET /health') &&
          !keys.includes('GET /console')
        );
      });
      expect(readOnly.length).toBeGreaterThan(12);
      for (const [id] of readOnly) {
        expect(Object.values(tableAccessOf(id)), id).not.toContain('write');
        const roleId = functions()[id]?.Properties.Role['Fn::GetAtt'][0];
        const actions = JSON.stringify(policiesOf(roleId).map((p) => p.Properties.PolicyDocument));
        expect(actions, id).not.toContain('sqs:SendMessage');
        expect(actions, id).not.toContain('lambda:UpdateEventSourceMapping');
        expect(actions, id).not.toContain('states:StartExecution');
      }
    });

    it('lets the cron scheduler submit but not scale, and the autoscaler scale but not submit', () => {
      const actionsOf = (prefix: string) => {
        const roleId = functions()[byDescription(prefix)]?.Properties.Role['Fn::GetAtt'][0];
        return JSON.stringify(policiesOf(roleId).map((p) => p.Properties.PolicyDocument));
      };
      const scheduler = actionsOf('Enqueues the jobs of due cron schedules');
      expect(scheduler).toContain('sqs:SendMessage');
      expect(scheduler).not.toContain('lambda:UpdateEventSourceMapping');
      const autoscaler = actionsOf('Autoscaler');
      expect(autoscaler).toContain('lambda:UpdateEventSourceMapping');
      expect(autoscaler).not.toContain('sqs:SendMessage');
    });

    it('lets no function write every table', () => {
      for (const id of Object.keys(functions()))
        expect(Object.values(tableAccessOf(id)).filter((a) => a === 'write').length, id).toBeLessThan(7);
    });

    it.each([
      ['GET /jobs/{jobId}', { jobs: 'read', orders: 'read' }],
      ['GET /jobs/{jobId}/logs', { jobs: 'read', orders: 'read', jobLogs: 'read' }],
      ['GET /outbox', { outbox: 'read' }],
      // One function for the queues' settings: the list, pauses and rate limits.
      ['GET /queues', { operations: 'write' }],
      // The live counts (kept by the analytics recorder), and the rows older than them.
      ['GET /jobs/stats', { jobs: 'read', metrics: 'read', operations: 'read' }],
      ['GET /jobs/queue', { jobs: 'read', metrics: 'read', operations: 'read' }],
      ['POST /queues/{queue}/pause', { operations: 'write' }],
      ['POST /orders', { orders: 'write' }],
      // The analytics come from the jobs table's stream: no job path writes a metric (POST /jobs
      // reads the failure model and the type's last hour, for `"predict": true`).
      ['POST /jobs', { jobs: 'write', jobLogs: 'write', metrics: 'read' }],
      ['POST /jobs/bulk', { jobs: 'write', jobLogs: 'write' }],
      ['POST /job-batches', { jobs: 'write', jobLogs: 'write', jobBatches: 'write' }],
      ['POST /jobs/{jobId}/retry', { jobs: 'write', jobLogs: 'write', orders: 'write' }],
      ['PUT /queues/{queue}/rate-limit', { operations: 'write' }],
      // SLAs are kept like rate limits; the admin analytics read the buckets and the operations.
      ['PUT /queues/{queue}/sla', { operations: 'write' }],
      ['GET /analytics/cost', { jobs: 'read', metrics: 'read', operations: 'read', workers: 'read' }],
      ['POST /workers/scale', { operations: 'write', workers: 'read', metrics: 'read' }],
      ['GET /robot-types', {}],
      ['GET /health', {}],
      ['GET /console/{proxy+}', {}],
      ['POST /api-keys', { apiKeys: 'write' }],
    ])('%s: %o', (routeKey, expected) => {
      expect(tableAccessOf(functionOf(routeKey))).toEqual(expected);
    });

    it('lets a job worker write the outbox and its rate limits and read the retry evidence, a step worker its order and no outbox', () => {
      expect(tableAccessOf(byDescription('Job worker of the default queue'))).toEqual({
        jobs: 'write',
        jobLogs: 'write',
        workers: 'write',
        outbox: 'write',
        operations: 'write',
        metrics: 'read',
      });
      expect(tableAccessOf(byDescription('Step worker of the assembly line'))).toEqual({
        jobs: 'write',
        jobLogs: 'write',
        workers: 'write',
        metrics: 'write',
        orders: 'write',
      });
      expect(tableAccessOf(byDescription('Starts assembly workflows'))).toEqual({ orders: 'write' });
    });

    it('issues WebSocket tickets to any key, and keeps tickets and connections in a table of their own', () => {
      expect(tableAccessOf(functionOf('POST /realtime/tickets'))).toEqual({ realtime: 'write' });
      expect(tableAccessOf(byDescription('WebSocket connections'))).toEqual({ realtime: 'write' });
    });

    it('lets the job dispatcher settle lost attempts and mark their workers lost, nothing else', () => {
      expect(tableAccessOf(byDescription('Job dispatcher'))).toEqual({
        jobs: 'write',
        jobLogs: 'write',
        workers: 'write',
      });
    });

    it('publishes the events from the jobs, orders, operations and workers streams to GET /events and a bus with an archive', () => {
      const publisher = byDescription('Event publisher');
      // It forgets the sockets that are gone.
      expect(tableAccessOf(publisher)).toEqual({ events: 'write', realtime: 'write' });
      const mappings = Object.values(
        template.findResources('AWS::Lambda::EventSourceMapping') as Resources,
      ).filter((m) => m.Properties.FunctionName.Ref === publisher);
      expect(mappings).toHaveLength(4);
      for (const m of mappings)
        expect(m.Properties).toMatchObject({
          StartingPosition: 'TRIM_HORIZON',
          BisectBatchOnFunctionError: true,
        });
      const streamed = Object.values(template.findResources('AWS::DynamoDB::Table') as Resources).filter(
        (t) => t.Properties.StreamSpecification?.StreamViewType === 'NEW_AND_OLD_IMAGES',
      );
      expect(streamed).toHaveLength(4);
      template.resourceCountIs('AWS::Events::EventBus', 1);
      template.hasResourceProperties('AWS::Events::Archive', {
        EventPattern: { source: ['robot-factory'] },
        RetentionDays: 90,
      });
      // Only the publisher puts events on the bus.
      const putters = Object.entries(template.findResources('AWS::IAM::Policy') as Resources).filter(
        ([, p]) => JSON.stringify(p.Properties.PolicyDocument).includes('events:PutEvents'),
      );
      expect(putters.map(([id]) => id)).toEqual([expect.stringMatching(/^EventStreamPublisher/)]);
      expect(tableAccessOf(functionOf('GET /events'))).toEqual({
        events: 'read',
        jobs: 'read',
        orders: 'read',
      });
    });

    it('feeds the analytics recorder from the jobs stream, in batches, with a dead-letter queue', () => {
      const recorder = byDescription('Analytics recorder');
      expect(tableAccessOf(recorder)).toEqual({ metrics: 'write' });
      const mapping = Object.values(
        template.findResources('AWS::Lambda::EventSourceMapping') as Resources,
      ).find((m) => m.Properties.FunctionName.Ref === recorder);
      expect(mapping?.Properties).toMatchObject({
        EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^TablesJobs/), 'StreamArn'] },
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        DestinationConfig: { OnFailure: { Destination: expect.anything() } },
      });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      });
    });
  });

  it('logs every request of the stage (route, status, key id) and throttles it deliberately', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('authorizer.keyId'),
      },
    });
    expect(Object.keys(ofHttpApi('AWS::ApiGatewayV2::Stage'))).toHaveLength(1);
  });
});

describe('real-time push', () => {
  const ofWebSocketApi = (type: string) =>
    Object.values(template.findResources(type) as Resources).filter((r) =>
      String(r.Properties.ApiId?.Ref ?? '').startsWith('RealtimeApi'),
    );

  it('serves a WebSocket API: connect, subscribe and disconnect in one function, a logged and throttled stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    expect(
      ofWebSocketApi('AWS::ApiGatewayV2::Route')
        .map((r) => r.Properties.RouteKey)
        .sort(),
    ).toEqual(['$connect', '$disconnect', 'subscribe']);
    const integrations = ofWebSocketApi('AWS::ApiGatewayV2::Integration');
    expect(integrations).toHaveLength(1);
    expect(JSON.stringify(integrations[0]?.Properties.IntegrationUri)).toContain('RealtimeConnections');
    const [stage] = ofWebSocketApi('AWS::ApiGatewayV2::Stage');
    expect(stage?.Properties).toMatchObject({
      StageName: 'live',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: { Format: expect.stringContaining('connectionId') },
    });
  });

  it('lets only the connections function and the event publisher manage connections, of this stage', () => {
    const managers = Object.entries(template.findResources('AWS::IAM::Policy') as Resources).filter(([, p]) =>
      JSON.stringify(p.Properties.PolicyDocument).includes('execute-api:ManageConnections'),
    );
    expect(managers.map(([id]) => id.replace(/ServiceRole.*$/, '')).sort()).toEqual([
      expect.stringMatching(/^EventStreamPublisher/),
      expect.stringMatching(/^RealtimeConnections/),
    ]);
    for (const [, policy] of managers)
      expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('/live/*/@connections/*');
  });
});

describe('monitoring (a nested stack)', () => {
  const alarmsOn = (metricName: string) =>
    Object.values(monitoring.findResources('AWS::CloudWatch::Alarm') as Resources).filter(
      (a) => a.Properties.MetricName === metricName,
    );
  const queuesWithDeadLetters = () =>
    Object.values(template.findResources('AWS::SQS::Queue') as Resources).filter(
      (q) => q.Properties.RedrivePolicy !== undefined,
    );

  it('is one resource of the factory stack', () => {
    template.resourceCountIs('AWS::CloudFormation::Stack', 1);
  });

  it('alarms when a dead-letter queue holds anything, and when a message waits over 15 minutes', () => {
    const sources = queuesWithDeadLetters().length;
    expect(sources).toBeGreaterThan(20);
    const deadLetters = alarmsOn('ApproximateNumberOfMessagesVisible');
    expect(deadLetters).toHaveLength(sources);
    for (const alarm of deadLetters)
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    const age = alarmsOn('ApproximateAgeOfOldestMessage');
    expect(age).toHaveLength(sources);
    for (const alarm of age) expect(alarm.Properties.Threshold).toBe(900);
  });

  it('alarms on every function throttled and every assembly workflow failed', () => {
    const functions = Object.keys(template.findResources('AWS::Lambda::Function')).length;
    expect(alarmsOn('Throttles')).toHaveLength(functions);
    expect(alarmsOn('ExecutionsFailed')).toHaveLength(
      Object.keys(template.findResources('AWS::StepFunctions::StateMachine')).length,
    );
  });

  it('tells every alarm and its recovery to one TLS-only topic, mailed to the operator', () => {
    const topics = Object.keys(monitoring.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    for (const alarm of Object.values(monitoring.findResources('AWS::CloudWatch::Alarm') as Resources)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topics[0] }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topics[0] }]);
    }
    monitoring.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    monitoring.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('draws queue depth, oldest age, dead letters, workflows and Lambda errors/throttles on one dashboard', () => {
    const dashboards = Object.values(monitoring.findResources('AWS::CloudWatch::Dashboard') as Resources);
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const title of [
      'Queue depth (waiting)',
      'Age of oldest message (s)',
      'Dead letters',
      'Assembly workflows',
      'Lambda errors and throttles (all factory functions)',
    ])
      expect(body).toContain(title);
    expect(body).toContain('ExecutionsFailed');
    expect(body).toContain('Throttles');
  });

  describe('job and step outcomes, from the EMF lines the workers and lease recovery write', () => {
    /** The dashboard's widgets, its references marked in place. */
    const widgets = () => {
      const [dashboard] = Object.values(monitoring.findResources('AWS::CloudWatch::Dashboard') as Resources);
      const parts = dashboard?.Properties.DashboardBody['Fn::Join'][1] as unknown[];
      return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'REF')).join('')).widgets as {
        properties: { title: string; metrics: [{ expression: string; label: string }][] };
      }[];
    };
    const widget = (title: string) => widgets().find((w) => w.properties.title === title)?.properties;

    /** A job worker's last attempt. */
    const jobAttempt: SettledOutcome = {
      queue: 'default',
      type: 'send_email',
      status: 'DEAD',
      attempt: 3,
      ranMs: 5,
      waitedMs: 1,
    };
    /**
     * The namespace, dimension names and metric names of the line written for settled attempts:
     * one at a time (a step worker, lease recovery), or held and flushed together (a job worker).
     */
    function emitted(
      outcome: SettledOutcome = jobAttempt,
      writer: 'one at a time' | 'held' = 'one at a time',
    ): { schema: string; names: string[] } {
      const lines: string[] = [];
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        lines.push(String(chunk));
        return true;
      });
      try {
        const metrics = new Metrics({ namespace: jobMetricsNamespace, serviceName: 'robot-factory' });
        if (writer === 'one at a time') publishJobOutcome(outcome, metrics);
        else {
          const held = new HeldJobOutcomes(metrics);
          held.add(outcome);
          held.add(outcome);
          held.flush();
        }
      } finally {
        spy.mockRestore();
      }
      const [directive] = JSON.parse(lines[0] as string)._aws.CloudWatchMetrics;
      return {
        schema: `{${[directive.Namespace, ...[...directive.Dimensions[0]].sort()].join(',')}}`,
        names: directive.Metrics.map((m: { Name: string }) => m.Name),
      };
    }
    const emittedSchema = () => emitted().schema;
    /** The namespace and dimension names a widget's SEARCH expression names, sorted as `emitted`'s. */
    const searchedSchema = (expression: string) => {
      const [namespace, ...dimensions] = /\{([^}]+)\}/.exec(expression)?.[1]?.split(',') ?? [];
      return `{${[namespace, ...dimensions.sort()].join(',')}}`;
    };
    const searchedName = (expression: string) => /MetricName="([^"]+)"/.exec(expression)?.[1];

    it('draws completed jobs, failed attempts and dead jobs over every queue and type', () => {
      // Prepare
      const schema = emittedSchema();
      // Act
      const outcomes = widget('Job and step outcomes (all queues and lines)');
      // Assess
      expect(schema).toBe('{RobotFactory,queue,service,type}');
      const search = (name: string) =>
        `SUM(SEARCH('{RobotFactory,service,queue,type} MetricName="${name}"', 'Sum', 300))`;
      expect(outcomes?.metrics.map(([m]) => [m.label, m.expression])).toEqual([
        ['completed', search('JobsCompleted')],
        ['failed attempts', search('JobsFailed')],
        ['dead', search('JobsDead')],
      ]);
      // The search names exactly the emitted dimension set: a missing or extra one finds nothing.
      for (const [m] of outcomes?.metrics ?? []) expect(searchedSchema(m.expression)).toBe(schema);
    });

    it('draws p95 run and wait time, one line per queue and type', () => {
      const times = widget('Job and step run and wait time p95 (ms, by queue or line and type)');
      expect(times?.metrics.map(([m]) => m.expression)).toEqual([
        `SEARCH('{RobotFactory,service,queue,type} MetricName="JobRunTime"', 'p95', 300)`,
        `SEARCH('{RobotFactory,service,queue,type} MetricName="JobWaitTime"', 'p95', 300)`,
      ]);
      for (const [m] of times?.metrics ?? [])
        expect(m.label).toMatch(/PROP\('Dim.queue'\).*PROP\('Dim.type'\)/);
    });

    it("finds a step worker's, lease recovery's and a job worker's held lines too: the same names and dimensions, no queue filtered", () => {
      // Prepare: a line's step settled dead by its worker, and a job's lost attempt (no run time).
      const step = emitted({
        queue: 'calibration',
        type: 'calibrate',
        status: 'DEAD',
        attempt: 3,
        ranMs: 300,
      });
      const lost = emitted({
        queue: 'default',
        type: 'send_email',
        status: 'FAILED',
        attempt: 1,
        waitedMs: 40,
      });
      // A job worker's line, two attempts' samples held and written together.
      const heldByAJobWorker = emitted(jobAttempt, 'held');
      // Act
      const expressions = [
        ...(widget('Job and step outcomes (all queues and lines)')?.metrics ?? []),
        ...(widget('Job and step run and wait time p95 (ms, by queue or line and type)')?.metrics ?? []),
      ].map(([m]) => m.expression);
      // Assess
      expect(step.names).toEqual(['JobsFailed', 'JobsDead', 'JobRunTime']);
      expect(lost.names).toEqual(['JobsFailed', 'JobWaitTime']);
      const searched = new Set(expressions.map(searchedName));
      for (const { schema, names } of [step, lost, heldByAJobWorker]) {
        expect(schema).toBe(emittedSchema());
        for (const name of names) expect(searched).toContain(name);
      }
      // Each search spans every queue and line: it filters on the metric's name alone.
      for (const expression of expressions) expect(expression).not.toMatch(/\b(queue|type)\s*=/);
    });
  });
});

describe('function bundles, as a deploy builds them (infra/constructs/bundle-function.mjs)', () => {
  let assembly: string;
  /** A bundled function's asset folder. */
  let assetOf: (logicalIdPrefix: string) => string;
  const files = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.mjs'));
  const text = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8');
  /** What the bundle's module imports statically from beside it, and what only through import(). */
  const chunkImports = (source: string) => ({
    static: [...source.matchAll(/(?:\bfrom\s*|\bimport\s*)"\.\/([^"]+\.mjs)"/g)].map((m) => m[1] as string),
    dynamic: [...source.matchAll(/\bimport\("\.\/([^"]+\.mjs)"\)/g)].map((m) => m[1] as string),
  });

  beforeAll(() => {
    // Prepare: two functions bundled for real, the authorizer (the SDK, the Tracer) and the
    // Tracer's own module (to run it with and without tracing).
    assembly = mkdtempSync(path.join(tmpdir(), 'factory-bundles-'));
    const app = new App({ outdir: assembly });
    const stack = new Stack(app, 'Bundles');
    new FactoryFunction(stack, 'Authorizer', { entry: 'auth/authorizer.ts' });
    new FactoryFunction(stack, 'Tracer', { entry: 'shared/tracer.ts' });
    app.synth();
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Resources;
    assetOf = (prefix) => {
      const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(prefix)) ?? [];
      // The asset's S3 key is "<hash>.zip"; the assembly holds it as asset.<hash>/.
      return path.join(assembly, `asset.${String(fn?.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    };
  }, 120_000);
  afterAll(() => rmSync(assembly, { recursive: true, force: true }));

  it('load the AWS SDK the runtime provides with require(), never with an ESM import', () => {
    const dir = assetOf('Authorizer');
    const code = files(dir).map((f) => text(dir, f));
    // No import of it at all, static or dynamic (Node would scan the CommonJS packages' sources).
    for (const source of code) expect(source).not.toMatch(/(from\s*|import\s*\(?\s*)"@aws-sdk\//);
    // A require() through the bundle's createRequire, which resolves from the runtime's node_modules.
    expect(code.join('\n')).toMatch(/\("@aws-sdk\/client-dynamodb"\)/);
    expect(text(dir, 'index.mjs').startsWith("import { createRequire as __cr } from 'node:module'")).toBe(
      true,
    );
  });

  it('keep the Tracer and the X-Ray SDK out of what a cold start loads: a chunk only an import() reaches', () => {
    const dir = assetOf('Authorizer');
    const index = text(dir, 'index.mjs');
    const loaded = ['index.mjs', ...chunkImports(index).static];
    const lazy = chunkImports(index).dynamic;
    // The X-Ray SDK's own setting names mark its code.
    for (const file of loaded)
      expect({ file, xray: text(dir, file).includes('AWS_XRAY_DAEMON_ADDRESS') }).toEqual({
        file,
        xray: false,
      });
    expect(lazy.filter((file) => text(dir, file).includes('AWS_XRAY_DAEMON_ADDRESS'))).toHaveLength(1);
    // semver, which only the X-Ray SDK's AWS SDK v2 patcher needs, is left out of it.
    for (const file of files(dir)) expect(text(dir, file)).not.toContain('SEMVER_SPEC_VERSION');
    // What the bench counts: within the budget at cold start, the Tracer apart.
    const [bundle] = functionBundles(assembly).filter((b) => b.functions.includes('Authorizer'));
    expect(bundle?.moduleBytes).toBeLessThanOrEqual(bundleBudgetBytes);
    expect(bundle?.lazyBytes).toBeGreaterThan(50 * 1024);
  });

  it('construct the Tracer where the function is traced (on Lambda), and read nothing of it elsewhere', () => {
    // Prepare: the bundle as built, and a copy without the chunks only an import() reaches.
    const dir = assetOf('Tracer');
    const withoutLazy = mkdtempSync(path.join(assembly, 'without-lazy-'));
    cpSync(dir, withoutLazy, { recursive: true });
    for (const chunk of chunkImports(text(dir, 'index.mjs')).dynamic) rmSync(path.join(withoutLazy, chunk));
    const probe = (bundle: string, env: Record<string, string>) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const m = await import(${JSON.stringify(pathToFileURL(path.join(bundle, 'index.mjs')).href)});
             console.log(JSON.stringify({ tracer: typeof m.tracer?.captureAWSv3Client, enabled: m.tracer?.isTracingEnabled() ?? false }));`,
          ],
          { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
        ),
      );
    // Act
    const local = probe(withoutLazy, {});
    const onLambda = probe(dir, {
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    });
    // Assess
    expect(local).toEqual({ tracer: 'undefined', enabled: false });
    expect(onLambda).toEqual({ tracer: 'function', enabled: true });
  });
});
