import { Duration, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';

export interface ScheduledTaskProps {
  /** Handler module under functions/ (e.g. `scheduled/autoscaler.ts`). */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  /** @default every minute */
  readonly interval?: Duration;
  /** @default 2 minutes */
  readonly timeout?: Duration;
}

/** A Lambda run on a fixed rate by EventBridge (the local cloud runs rate() schedules too). */
export class ScheduledTask extends Construct {
  public readonly function: FactoryFunction;
  public readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ScheduledTaskProps) {
    super(scope, id);
    this.function = new FactoryFunction(this, 'Function', {
      entry: props.entry,
      description: props.description,
      timeout: props.timeout ?? Duration.minutes(2),
      environment: props.environment,
    });
    this.rule = new Rule(this, 'Schedule', {
      schedule: Schedule.rate(props.interval ?? Duration.minutes(1)),
      targets: [new LambdaFunction(this.function, { retryAttempts: 2 })],
    });
    Validations.of(this.rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A minute tick that fails its retries is redone by the next one: a dead letter would hold nothing to replay',
    });
  }
}
