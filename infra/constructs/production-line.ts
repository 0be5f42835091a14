import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ProductionLineDefinition } from '../../functions/domain/production-lines.ts';
import { FactoryFunction } from './factory-function.ts';
import type { FactoryTables } from './factory-tables.ts';

export interface ProductionLineProps {
  readonly lineName: string;
  readonly definition: ProductionLineDefinition;
  readonly tables: FactoryTables;
  /** Deliveries before a message is parked in the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 5 */
  readonly batchSize?: number;
  /** Longest a single step may run on a worker. @default 5 minutes */
  readonly workerTimeout?: Duration;
}

/**
 * A production line: its work queue, the dead-letter queue behind it and the worker Lambda that
 * drains it. The event source's MaximumConcurrency is the line's worker count.
 */
export class ProductionLine extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly worker: FactoryFunction;
  /** The event source mapping (the scaling and pausing knob). */
  public readonly mappingIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ProductionLineProps) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.minutes(5);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      // AWS advice for Lambda consumers: at least six times the function timeout, so that
      // retries inside a batch window do not make messages visible again.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    this.worker = new FactoryFunction(this, 'Worker', {
      entry: 'workers/step-worker.ts',
      description: `Step worker of the ${props.lineName} line`,
      timeout: workerTimeout,
      environment: { ...props.tables.environment, LINE_NAME: props.lineName },
    });
    const source = new SqsEventSource(this.queue, {
      batchSize: props.batchSize ?? 5,
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      maxConcurrency: props.definition.maxConcurrency,
    });
    this.worker.addEventSource(source);
    this.mappingIds = { line: source.eventSourceMappingId };
    props.tables.grantReadWriteData(this.worker);
  }
}
