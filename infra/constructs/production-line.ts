import { Duration } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PriorityBand } from '../../functions/domain/job-queues.ts';
import {
  type ProductionLineDefinition,
  stepsPerLineWorker,
} from '../../functions/domain/production-lines.ts';
import { FactoryFunction } from './factory-function.ts';
import type { FactoryTables, TableAccess } from './factory-tables.ts';
import { addPriorityBandQueues, bandUrls } from './priority-band-queues.ts';

/** A step worker claims and settles its step's job, logs it, beats, counts it and moves its order on. */
const stepWorkerTables: TableAccess = { write: ['jobs', 'jobLogs', 'workers', 'metrics', 'orders'] };

export interface ProductionLineProps {
  readonly lineName: string;
  readonly definition: ProductionLineDefinition;
  readonly tables: FactoryTables;
  /** Deliveries before a message is parked in the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Step messages per invocation, run side by side. @default stepsPerLineWorker (5) */
  readonly batchSize?: number;
  /** Longest a single step may run on a worker. @default 5 minutes */
  readonly workerTimeout?: Duration;
}

/**
 * A production line: a work queue per priority band (an order's priority picks the band its
 * steps wait in), the dead-letter queue behind them and the worker Lambda that drains them. The
 * bands' event source MaximumConcurrency is the line's worker count.
 */
export class ProductionLine extends Construct {
  public readonly bands: Readonly<Record<PriorityBand, Queue>>;
  public readonly deadLetterQueue: Queue;
  public readonly worker: FactoryFunction;
  /** The event source mapping of each band (the scaling and pausing knobs). */
  public readonly mappingIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ProductionLineProps) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.minutes(5);
    this.worker = new FactoryFunction(this, 'Worker', {
      entry: 'workers/step-worker.ts',
      description: `Step worker of the ${props.lineName} line`,
      timeout: workerTimeout,
      environment: { ...props.tables.environmentFor(stepWorkerTables), LINE_NAME: props.lineName },
    });
    const queues = addPriorityBandQueues(this, {
      worker: this.worker,
      concurrency: props.definition.concurrency,
      // AWS advice for Lambda consumers: at least six times the function timeout, so that
      // retries inside a batch window do not make messages visible again.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      batchSize: props.batchSize ?? stepsPerLineWorker,
      maxReceiveCount: props.maxReceiveCount,
    });
    this.bands = queues.bands;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.mappingIds = queues.mappingIds;
    props.tables.grant(this.worker, stepWorkerTables);
  }

  get urls(): Record<PriorityBand, string> {
    return bandUrls(this.bands);
  }
}
