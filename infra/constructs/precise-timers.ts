import { Duration } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';

export interface PreciseTimersProps {
  /** Environment of the timer function (what cron occurrences and maintenance windows need). */
  readonly environment: Record<string, string>;
}

/**
 * Time-driven work on the second (functions/domain/timers.ts): what is due within 14 minutes
 * waits as a delayed message on this queue, and the timer function acts on it at its exact time.
 * Cheaper and finer than a scheduler resource per occurrence; the minute sweeps (ScheduledTask)
 * remain the safety net.
 */
export class PreciseTimers extends Construct {
  public readonly queue: Queue;
  public readonly function: FactoryFunction;

  constructor(scope: Construct, id: string, props: PreciseTimersProps) {
    super(scope, id);
    const timeout = Duration.minutes(1);
    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
    });
    this.queue = new Queue(this, 'Queue', {
      visibilityTimeout: timeout.plus(Duration.seconds(30)),
      retentionPeriod: Duration.days(1),
      encryption: QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 3 },
    });
    this.function = new FactoryFunction(this, 'Function', {
      entry: 'scheduled/timers.ts',
      description: 'Precise timers: cron occurrences, maintenance windows starting and ending',
      timeout,
      environment: { ...props.environment, TIMERS_QUEUE_URL: this.queue.queueUrl },
    });
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(0),
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
    this.grantArm(this.function);
  }

  /** Lets a function arm timers (it also needs TIMERS_QUEUE_URL: `this.queue.queueUrl`). */
  grantArm(grantee: IGrantable): void {
    this.queue.grantSendMessages(grantee);
  }
}
