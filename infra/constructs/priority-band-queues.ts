import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { bandNames, type PriorityBand } from '../../functions/domain/job-queues.ts';

export interface PriorityBandQueuesProps {
  /** The worker that drains every band. */
  readonly worker: IFunction;
  /** Workers per band: each band's event source MaximumConcurrency. */
  readonly concurrency: Readonly<Record<PriorityBand, number>>;
  readonly visibilityTimeout: Duration;
  readonly batchSize: number;
  /** Deliveries before a message is parked in the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export interface PriorityBandQueues {
  readonly bands: Readonly<Record<PriorityBand, Queue>>;
  readonly deadLetterQueue: Queue;
  /** The event source mapping of each band: the scaling and pausing knobs. */
  readonly mappingIds: Readonly<Record<PriorityBand, string>>;
}

/**
 * SQS has no priorities, so a queue of the factory (a job queue or a production line) is one SQS
 * queue per priority band, each with its own event source whose MaximumConcurrency is the band's
 * weight: urgent work overtakes a backlog, low work always keeps its share. One dead-letter queue
 * catches the messages no worker can even read. Created in the caller's scope, so that the
 * resources keep the caller's construct ids.
 */
export function addPriorityBandQueues(scope: Construct, props: PriorityBandQueuesProps): PriorityBandQueues {
  const deadLetterQueue = new Queue(scope, 'DeadLetterQueue', {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
  });
  const bands = {} as Record<PriorityBand, Queue>;
  const mappingIds = {} as Record<PriorityBand, string>;
  for (const band of bandNames) {
    const queue = new Queue(scope, `${band.charAt(0).toUpperCase()}${band.slice(1)}Queue`, {
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    const source = new SqsEventSource(queue, {
      batchSize: props.batchSize,
      maxBatchingWindow: Duration.seconds(0),
      reportBatchItemFailures: true,
      maxConcurrency: props.concurrency[band],
    });
    props.worker.addEventSource(source);
    bands[band] = queue;
    mappingIds[band] = source.eventSourceMappingId;
  }
  return { bands, deadLetterQueue, mappingIds };
}

/** The band queue URLs, for the environment of whoever sends to them. */
export const bandUrls = (bands: Readonly<Record<PriorityBand, Queue>>): Record<PriorityBand, string> =>
  Object.fromEntries(bandNames.map((b) => [b, bands[b].queueUrl])) as Record<PriorityBand, string>;
