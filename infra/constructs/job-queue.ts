import { Duration } from 'aws-cdk-lib';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { JobQueueDefinition, PriorityBand } from '../../functions/domain/job-queues.ts';
import { FactoryFunction } from './factory-function.ts';
import { addPriorityBandQueues, bandUrls } from './priority-band-queues.ts';

export interface JobQueueProps {
  readonly queueName: string;
  readonly definition: JobQueueDefinition;
  /** Environment of the worker (tables, bucket, band queue URLs). */
  readonly environment: Record<string, string>;
  /** Longest a job may run is this minus a margin (timeoutMs ≤ 14 min). @default 15 minutes */
  readonly workerTimeout?: Duration;
  /** Files copied next to the worker's bundle (e.g. Wasm codecs), relative to the repository. */
  readonly bundledFiles?: readonly string[];
  /** @default 512 */
  readonly memorySize?: number;
  /** @default false */
  readonly bundleImageCodecs?: boolean;
}

/**
 * A job queue: one SQS queue per priority band, one worker Lambda, one event source per band.
 * Messages are wake-up calls (a job id); jobs' retries, delays and DLQ live in the jobs table,
 * so maxReceiveCount only catches messages no worker can even read.
 */
export class JobQueue extends Construct {
  public readonly bands: Readonly<Record<PriorityBand, Queue>>;
  public readonly deadLetterQueue: Queue;
  public readonly worker: FactoryFunction;
  /** The band's event source mappings (the scaling and pausing knobs). */
  public readonly mappingIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.minutes(15);
    this.worker = new FactoryFunction(this, 'Worker', {
      entry: 'workers/job-worker.ts',
      description: `Job worker of the ${props.queueName} queue`,
      timeout: workerTimeout,
      memorySize: props.memorySize ?? 512,
      environment: { ...props.environment, QUEUE_NAME: props.queueName },
      bundledFiles: props.bundledFiles,
      bundleImageCodecs: props.bundleImageCodecs,
    });
    const queues = addPriorityBandQueues(this, {
      worker: this.worker,
      concurrency: props.definition.concurrency,
      // A redelivery only matters if a worker died before settling; the lease sweeper
      // recovers the job sooner, so this just has to exceed the worker timeout.
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() + 60),
      // Ten wake-ups an invocation, worked through one at a time (job-worker.ts): a band's
      // concurrency is still its number of running jobs, and a short job costs a tenth of an invocation.
      batchSize: 10,
    });
    this.bands = queues.bands;
    this.deadLetterQueue = queues.deadLetterQueue;
    this.mappingIds = queues.mappingIds;
  }

  /** The band queue URLs, for JOB_QUEUE_URLS. */
  get urls(): Record<PriorityBand, string> {
    return bandUrls(this.bands);
  }
}
