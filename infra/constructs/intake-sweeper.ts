import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';

export interface IntakeSweeperProps {
  readonly environment: Record<string, string>;
  /** @default every minute */
  readonly interval?: Duration;
}

/** Starts workflows that an intake crash left unstarted (see functions/scheduled/intake-sweeper.ts). */
export class IntakeSweeper extends Construct {
  public readonly function: FactoryFunction;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: IntakeSweeperProps) {
    super(scope, id);
    this.function = new FactoryFunction(this, 'Function', {
      entry: 'scheduled/intake-sweeper.ts',
      description: 'Starts assembly workflows of orders whose start was not confirmed',
      timeout: Duration.seconds(60),
      environment: props.environment,
    });
    this.rule = new Rule(this, 'Schedule', {
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
  }
}
