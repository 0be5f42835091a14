/**
 * The SQS-fed workers' handler: Powertools' BatchProcessor runs a batch's records and reports each
 * failed record on its own (the event source mappings set ReportBatchItemFailures), so a record
 * that throws — a malformed message, a step running on another worker — is redelivered (and after
 * maxReceiveCount left in the dead-letter queue) without its batch-mates. A batch whose every
 * record failed is answered the same way, not thrown: a thrown batch would count as a Lambda error
 * and fire the errors alarm for what is ordinary redelivery.
 *
 * Records run concurrently by default. A worker whose concurrency must equal its running work (the
 * job workers: a band's MaximumConcurrency is its number of running jobs) takes them one at a time
 * (`oneAtATime`) and, once the invocation has worked for `handBackAfterMs`, hands the records it
 * has not started back to their queue at once — so a batch of ten wake-ups costs one invocation
 * while its jobs are short, and a long job never holds nine wake-ups that idle workers could take.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError, logger as rootLogger } from './logger.ts';

/**
 * One record's work. `log` is the record's own logger (its messageId already appended): keys it
 * appends (a jobId, an orderId) stay on this record's lines while other records run.
 */
export type SqsRecordHandler = (record: SQSRecord, log: Logger) => Promise<void>;

export interface OneAtATime {
  /** How long an invocation works through its batch before handing back the records not started. */
  readonly handBackAfterMs: number;
  /**
   * Puts the records back on their queues as new messages (the originals are then acknowledged).
   * Returns the messageIds it could not put back: those are left for redelivery instead.
   */
  readonly handBack: (records: readonly SQSRecord[]) => Promise<ReadonlySet<string>>;
}

export interface SqsBatchOptions {
  /** What a record is, in the line logged when one is left for redelivery (e.g. "Job delivery"). */
  readonly delivery: string;
  /** @default the factory's logger */
  readonly logger?: Logger;
  /** @default records run concurrently */
  readonly oneAtATime?: OneAtATime;
}

export function sqsBatchHandler(handle: SqsRecordHandler, options: SqsBatchOptions) {
  const logger = options.logger ?? rootLogger;
  const processor = new BatchProcessor(EventType.SQS);
  const processRecord = async (record: SQSRecord): Promise<void> => {
    const log = logger.createChild({ persistentKeys: { messageId: record.messageId } });
    try {
      await handle(record, log);
    } catch (error) {
      log.warn(`${options.delivery} left for redelivery`, {
        receiveCount: record.attributes?.ApproximateReceiveCount,
        ...describeError(error),
      });
      throw error;
    }
  };
  const { oneAtATime } = options;
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .handler(async (event, context) => {
      if (!oneAtATime || event.Records.length < 2)
        return processPartialResponse(event, processRecord, processor, {
          context,
          processInParallel: !oneAtATime,
          throwOnFullBatchFailure: false,
        });
      const notStarted = new Set(event.Records);
      let handedBack: Promise<ReadonlySet<string>> | undefined;
      const timer = setTimeout(() => {
        const records = [...notStarted];
        notStarted.clear();
        if (records.length === 0) return;
        logger.info('Records not started handed back to their queue', {
          delivery: options.delivery,
          records: records.length,
        });
        handedBack = oneAtATime.handBack(records).catch((error) => {
          logger.warn('Records not started could not be handed back: left for redelivery', {
            delivery: options.delivery,
            ...describeError(error),
          });
          return new Set(records.map((r) => r.messageId));
        });
      }, oneAtATime.handBackAfterMs);
      try {
        const response = await processPartialResponse(
          event,
          (record: SQSRecord) => (notStarted.delete(record) ? processRecord(record) : Promise.resolve()),
          processor,
          { context, processInParallel: false, throwOnFullBatchFailure: false },
        );
        const notHandedBack = [...((await handedBack) ?? [])];
        return {
          batchItemFailures: [
            ...response.batchItemFailures,
            ...notHandedBack.map((itemIdentifier) => ({ itemIdentifier })),
          ],
        };
      } finally {
        clearTimeout(timer);
      }
    });
}
