/**
 * CDK app entry (cdk.json). The same function builds the app for `cdk deploy` and for the local
 * cloud, which synthesizes it and runs the resulting template.
 */
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { FactoryStack } from './factory-stack.ts';

export const stackName = 'RobotFactory';

export interface BuildOptions {
  readonly outdir?: string;
  readonly context?: Record<string, unknown>;
}

export function buildFactoryApp(options: BuildOptions = {}): { app: App; stack: FactoryStack } {
  const app = new App({ outdir: options.outdir, context: options.context });
  const simulation = ['true', true].includes(app.node.tryGetContext('robot-factory:simulation'));
  const stack = new FactoryStack(app, stackName, {
    simulation,
    dataRemovalPolicy: simulation ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    ...numberContext(app, 'robot-factory:jobRetentionDays', 'jobRetentionDays'),
    ...numberContext(app, 'robot-factory:deadJobRetentionDays', 'deadJobRetentionDays'),
    ...numberContext(app, 'robot-factory:orderRetentionDays', 'orderRetentionDays'),
    ...numberContext(app, 'robot-factory:operationsRetentionDays', 'operationsRetentionDays'),
    // `-c robot-factory:outboundAllowList=hooks.internal.example,10.20.0.0/16`
    outboundAllowList: String(app.node.tryGetContext('robot-factory:outboundAllowList') ?? ''),
    // `-c robot-factory:alarmEmail=ops@example.com`: the alarms' topic mails them there.
    alarmEmail: app.node.tryGetContext('robot-factory:alarmEmail'),
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'Robot Factory: serverless job orchestration (orders, assembly workflows, production lines)',
    // CloudFormation takes 1 MB of template; indentation alone was a fifth of it.
    suppressTemplateIndentation: true,
  });
  return { app, stack };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildFactoryApp().app.synth();
}

/** `cdk deploy -c robot-factory:jobRetentionDays=14` and friends: a positive integer or nothing. */
function numberContext(app: App, key: string, prop: string): Record<string, number> {
  const raw = app.node.tryGetContext(key);
  if (raw === undefined) return {};
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`Context ${key} must be a positive integer, got ${raw}`);
  return { [prop]: value };
}
