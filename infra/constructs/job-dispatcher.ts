import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';

export interface JobDispatcherProps {
  readonly environment: Record<string, string>;
  /** @default every minute */
  readonly interval?: Duration;
}

/**
 * The job engine's sweeper (functions/scheduled/job-dispatcher.ts): redoes follow-ups that a
 * crash or a failed send left undone, hands long delays to SQS when they come within 15
 * minutes, and recovers jobs whose worker stopped heartbeating.
 */
export class JobDispatcher extends Construct {
  public readonly function: FactoryFunction;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: JobDispatcherProps) {
    super(scope, id);
    this.function = new FactoryFunction(this, 'Function', {
      entry: 'scheduled/job-dispatcher.ts',
      description: 'Job dispatcher: due markers, long delays, expired leases',
      timeout: Duration.minutes(2),
      environment: props.environment,
    });
    this.rule = new Rule(this, 'Schedule', {
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
  }
}
