import { Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';

export interface TableStreamConsumerProps {
  /** Tables with a stream (NEW_AND_OLD_IMAGES: consumers compare a row before and after), one mapping each. */
  readonly tables: readonly ITable[];
  /** Handler module under functions/ (e.g. `workers/job-analytics.ts`). */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  /** Records per invocation. @default 500 */
  readonly batchSize?: number;
  /** How long records gather into a batch: fewer, larger writes for a little lag. @default 1 second */
  readonly maxBatchingWindow?: Duration;
}

/**
 * A Lambda fed by a table's DynamoDB stream: the changes of the rows, in order per item, in
 * batches. A failing batch is halved until the failing records are alone, retried, and after
 * its retries described in a dead-letter queue (the stream moves on: one bad record never stops
 * the rest). Reading the stream costs no read units and no request charge; only the function's
 * own writes are billed.
 */
export class TableStreamConsumer extends Construct {
  public readonly function: FactoryFunction;
  /** Lambda's description of each batch given up on (shard and sequence range, to replay). */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TableStreamConsumerProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is the stream mapping's OnFailure destination (a dead-letter queue that cdk-nag does not recognise as one)",
    });
    this.function = new FactoryFunction(this, 'Function', {
      entry: props.entry,
      description: props.description,
      timeout: Duration.seconds(30),
      environment: props.environment,
    });
    for (const table of props.tables)
      this.function.addEventSource(
        new DynamoEventSource(table, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          batchSize: props.batchSize ?? 500,
          maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(1),
          bisectBatchOnError: true,
          retryAttempts: 10,
          onFailure: new SqsDlq(this.deadLetterQueue),
        }),
      );
  }
}
