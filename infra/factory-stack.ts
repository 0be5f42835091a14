import { type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Construct } from 'constructs';
import { robotTypes } from '../functions/domain/catalog.ts';
import { productionLineNames, productionLines } from '../functions/domain/production-lines.ts';
import { AssemblyWorkflow } from './constructs/assembly-workflow.ts';
import { FactoryApi } from './constructs/factory-api.ts';
import { FactoryTables } from './constructs/factory-tables.ts';
import { IntakeSweeper } from './constructs/intake-sweeper.ts';
import { ProductionLine } from './constructs/production-line.ts';

export interface FactoryStackProps extends StackProps {
  /**
   * Accept the `simulate` hook on orders (scripted step durations and failures).
   * @default false — on only where tests need it (the local cloud turns it on)
   */
  readonly simulation?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly dataRemovalPolicy?: RemovalPolicy;
}

export class FactoryStack extends Stack {
  constructor(scope: Construct, id: string, props: FactoryStackProps = {}) {
    super(scope, id, props);
    const tables = new FactoryTables(this, 'Tables', { removalPolicy: props.dataRemovalPolicy });

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
    const lineQueues = Object.fromEntries(Object.entries(lines).map(([name, line]) => [name, line.queue]));

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

    const readEnv = tables.environment;
    const api = new FactoryApi(this, 'Api', {
      routes: [
        {
          method: HttpMethod.POST,
          path: '/orders',
          entry: 'api/create-order.ts',
          environment: {
            ...readEnv,
            ASSEMBLY_WORKFLOWS: assemblyWorkflows,
            SIMULATION_ENABLED: String(props.simulation ?? false),
          },
        },
        {
          method: HttpMethod.GET,
          path: '/orders/{orderId}/status',
          entry: 'api/get-order-status.ts',
          environment: readEnv,
        },
        { method: HttpMethod.GET, path: '/jobs/{jobId}', entry: 'api/get-job.ts', environment: readEnv },
        {
          method: HttpMethod.GET,
          path: '/jobs/{jobId}/logs',
          entry: 'api/get-job-logs.ts',
          environment: readEnv,
        },
        { method: HttpMethod.GET, path: '/robot-types', entry: 'api/list-robot-types.ts', environment: {} },
      ],
    });
    const createOrder = api.handlers.get('POST /orders');
    if (createOrder) {
      tables.orders.grantReadWriteData(createOrder);
      for (const workflow of workflows) workflow.stateMachine.grantStartExecution(createOrder);
    }
    for (const [key, fn] of api.handlers) if (key.startsWith('GET')) tables.grantReadData(fn);

    const sweeper = new IntakeSweeper(this, 'IntakeSweeper', {
      environment: { ...readEnv, ASSEMBLY_WORKFLOWS: assemblyWorkflows },
    });
    tables.orders.grantReadWriteData(sweeper.function);
    for (const workflow of workflows) workflow.stateMachine.grantStartExecution(sweeper.function);
  }
}

const pascal = (name: string) => name.charAt(0).toUpperCase() + name.slice(1);
