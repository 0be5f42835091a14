/**
 * The SQS-fed workers' handler: Powertools' BatchProcessor runs a batch's records concurrently
 * and reports each failed record on its own (the event source mappings set
 * ReportBatchItemFailures), so a record that throws — a malformed message, a step running on
 * another worker — is redelivered (and after maxReceiveCount left in the dead-letter queue) without
 * its batch-mates. A batch whose every record failed is answered the same way, not thrown: a
 * thrown batch would count as a Lambda error and fire the errors alarm for what is ordinary
 * redelivery.
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

export interface SqsBatchOptions {
  /** What a record is, in the line logged when one is left for redelivery (e.g. "Job delivery"). */
  readonly delivery: string;
  /** @default the factory's logger */
  readonly logger?: Logger;
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
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .handler((event, context) =>
      processPartialResponse(event, processRecord, processor, {
        context,
        processInParallel: true,
        throwOnFullBatchFailure: false,
      }),
    );
}
