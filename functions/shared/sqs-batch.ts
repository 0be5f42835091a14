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
 * (`oneAtATime`), so a batch of ten wake-ups costs one invocation while its jobs are short. Two
 * things keep a batch from holding its records when it should not:
 * - a long job: once the invocation has worked for `handBackAfterMs`, the records not started go
 *   back to their queue as new messages for idle workers, and those done are deleted at once;
 * - a dying invocation (a crash, a timeout, a kill): every record of the batch is hidden for
 *   `waitingVisibilitySeconds` only — before the first record starts —, not the queue's visibility
 *   timeout (the worker's timeout and a minute), so they come back within seconds, the first one
 *   too (an invocation can die before it claimed the first job, which then has no lease to bring
 *   it back); a record still running when the invocation is handed back gets the invocation's
 *   remaining time again (with `keepRunningWhenTold`, once its handler says it may be kept). A job claimed when its invocation died is recovered by its lease, and
 *   its wake-up, back after seconds, is absorbed — or, for an attempt that died in its first
 *   second, before it was listed as RUNNING, is what recovers it (job-lifecycle.ts). A batch of
 *   one record is hidden as well: that costs one ChangeMessageVisibility per lone wake-up.
 * A record whose handler throws a `RedeliverLater` comes back after the time it names (a wake-up
 * that must come back once another attempt's lease runs out): sent again as a new message with
 * that delay, so that its receive count starts again.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { describeError, type KeyedLog, keyedLog, logger as rootLogger } from './logger.ts';

/**
 * One record's work. `log` is the record's own logger (its messageId already appended): keys it
 * appends (a jobId, an orderId) stay on this record's lines while other records run.
 */
export type SqsRecordHandler = (record: SQSRecord, log: KeyedLog, controls: RecordControls) => Promise<void>;

/** What a record's handler may tell a one-at-a-time batch about its record while it runs. */
export interface RecordControls {
  /**
   * The record's work is found elsewhere now should this invocation die (a job's attempt listed
   * as RUNNING, which lease recovery reads): the hand-back may give it the invocation's time.
   */
  keep(): void;
}

/**
 * What a record's handler may throw to have its message back after `redeliverAfterSeconds`
 * rather than whenever its hiding ends (one-at-a-time workers, whose messages it may hide).
 */
export interface RedeliverLater {
  readonly redeliverAfterSeconds: number;
}
const redeliverAfterOf = (error: unknown): number | undefined => {
  const seconds = (error as Partial<RedeliverLater> | undefined)?.redeliverAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds : undefined;
};

/** What a one-at-a-time worker may do with the messages of its batch (their queue URLs are its own). */
export interface DeliveredMessages {
  /** Hides the records' messages for `seconds` from now (ChangeMessageVisibility). */
  hide(records: readonly SQSRecord[], seconds: number): Promise<void>;
  /**
   * Sends the records' bodies again as new messages (due after `delaySeconds`, ≤ 900); returns the
   * messageIds it could not send.
   */
  resend(records: readonly SQSRecord[], delaySeconds?: number): Promise<ReadonlySet<string>>;
  /** Deletes the records' messages (done, or sent again). */
  remove(records: readonly SQSRecord[]): Promise<void>;
}

export interface OneAtATime {
  /** How long an invocation works through its batch before handing back the records not started. */
  readonly handBackAfterMs: number;
  /** How long the records waiting their turn stay hidden should the invocation die. */
  readonly waitingVisibilitySeconds: number;
  /**
   * The hand-back gives a running record the invocation's time only once its handler said
   * `keep()` (default: at once). Until then it keeps its short hiding: its job's attempt is not
   * listed as RUNNING yet, and its wake-up coming back within seconds is its way back.
   */
  readonly keepRunningWhenTold?: boolean;
  readonly messages: DeliveredMessages;
}

export interface SqsBatchOptions {
  /** What a record is, in the line logged when one is left for redelivery (e.g. "Job delivery"). */
  readonly delivery: string;
  /** @default the factory's logger */
  readonly logger?: Logger;
  /** @default records run concurrently */
  readonly oneAtATime?: OneAtATime;
  /**
   * Run once the batch is done, whatever its outcome, before the answer (e.g. the worker row's
   * counts of the batch's jobs, written once). What it throws is logged, never the batch's failure.
   */
  readonly afterBatch?: () => Promise<void>;
}

export function sqsBatchHandler(handle: SqsRecordHandler, options: SqsBatchOptions) {
  const logger = options.logger ?? rootLogger;
  const processor = new BatchProcessor(EventType.SQS);
  /** Records that run concurrently: nothing to keep. */
  const uncontrolled: RecordControls = { keep: () => undefined };
  const processRecord = async (record: SQSRecord, controls = uncontrolled): Promise<void> => {
    const log = keyedLog(logger, { messageId: record.messageId });
    try {
      await handle(record, log, controls);
    } catch (error) {
      log.warn(`${options.delivery} left for redelivery`, {
        receiveCount: record.attributes?.ApproximateReceiveCount,
        ...describeError(error),
      });
      throw error;
    }
  };
  const { oneAtATime, afterBatch } = options;
  const work = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    // A lone record is hidden too: its job may be claimed unlisted (job-lifecycle.ts), and should
    // its invocation die, the wake-up coming back in seconds is what brings the job back.
    if (!oneAtATime || event.Records.length === 0)
      return processPartialResponse(event, processRecord, processor, {
        context,
        processInParallel: !oneAtATime,
        throwOnFullBatchFailure: false,
      });
    return oneByOne(event, context, oneAtATime);
  };

  /** A batch's records one at a time (see the module's comment). */
  async function oneByOne(
    event: SQSEvent,
    context: Context,
    { handBackAfterMs, waitingVisibilitySeconds, messages, keepRunningWhenTold = false }: OneAtATime,
  ): Promise<SQSBatchResponse> {
    const notStarted = new Set(event.Records);
    const done: SQSRecord[] = [];
    let running: SQSRecord | undefined;
    /** Whether the running record may be given the invocation's time (keepRunningWhenTold). */
    let runningKept = false;
    let handedBack = false;
    /** The running record's long hiding, once handed back and kept. */
    const keptLong: Promise<void>[] = [];
    const keepLong = (record: SQSRecord) =>
      keptLong.push(
        messages
          .hide([record], Math.ceil(context.getRemainingTimeInMillis() / 1000) + 60)
          .catch((error) => warn('Running record not hidden again: it may come back', error)),
      );
    const warn = (message: string, error: unknown) =>
      logger.warn(message, { delivery: options.delivery, ...describeError(error) });
    const hidden = messages
      .hide(event.Records, waitingVisibilitySeconds)
      .catch((error) => warn('Records not hidden: they keep the queue visibility timeout', error));
    // Before the first record starts: an invocation that dies (a crash, a kill) must leave its
    // records hidden for seconds, not for the queue's visibility timeout, and a job not claimed
    // yet has no lease to bring it back sooner. The chaos run caught both holes: the first job's
    // claim outran the hide and a crash came in between (seven waiting wake-ups hidden 16
    // minutes), and an invocation killed before its first claim left that wake-up hidden 16 minutes.
    await hidden;
    /**
     * A record whose handler asked for it back later (RedeliverLater) is sent again as a new
     * message, due then, and this one answered done: a new message's receive count starts again,
     * and the queue's dead-letter queue takes a message at its fifth receive — for a wake-up that
     * is an unlisted attempt's only way back, a count it must not run up. If the send fails, the
     * record is hidden for that long and left for redelivery instead.
     */
    const redeliverLater = async (record: SQSRecord, error: unknown): Promise<void> => {
      const seconds = redeliverAfterOf(error);
      if (seconds === undefined) throw error;
      const unsent = await messages.resend([record], seconds).catch(() => new Set([record.messageId]));
      if (unsent.size === 0) return;
      await messages
        .hide([record], seconds)
        .catch((hideError) =>
          warn('Record not hidden for its redelivery: it comes back when its hiding ends', hideError),
        );
      throw error;
    };
    /** The records this invocation could not hand back: left for redelivery. */
    let notHandedBack: Promise<ReadonlySet<string>> = Promise.resolve(new Set());
    const handBack = async (): Promise<ReadonlySet<string>> => {
      await hidden;
      const unstarted = [...notStarted];
      notStarted.clear();
      const finished = [...done];
      const current = running;
      const unsent = unstarted.length
        ? await messages.resend(unstarted).catch((error) => {
            warn('Records not started could not be handed back: left for redelivery', error);
            return new Set(unstarted.map((r) => r.messageId));
          })
        : new Set<string>();
      if (unstarted.length)
        logger.info('Records not started handed back to their queue', {
          delivery: options.delivery,
          records: unstarted.length - unsent.size,
        });
      const removable = [...unstarted.filter((r) => !unsent.has(r.messageId)), ...finished];
      await Promise.all([
        removable.length
          ? messages
              .remove(removable)
              .catch((error) => warn('Handed-back or finished records not deleted: they come back', error))
          : undefined,
        // A record not kept yet is hidden long when its handler says keep() (below).
        current && runningKept ? keepLong(current) : undefined,
      ]);
      return unsent;
    };
    const timer = setTimeout(() => {
      handedBack = true;
      notHandedBack = handBack();
    }, handBackAfterMs);
    try {
      const response = await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          if (!notStarted.delete(record)) return;
          running = record;
          runningKept = !keepRunningWhenTold;
          const controls: RecordControls = {
            keep: () => {
              if (running !== record || runningKept) return;
              runningKept = true;
              if (handedBack) keepLong(record);
            },
          };
          try {
            await processRecord(record, controls).catch((error) => redeliverLater(record, error));
            // Done before the hand-back: deleted by it if the invocation runs on; else answered.
            if (!handedBack) done.push(record);
          } finally {
            running = undefined;
          }
        },
        processor,
        { context, processInParallel: false, throwOnFullBatchFailure: false },
      );
      // Done before the hand-back's time: no hand-back may start while the answer is made.
      clearTimeout(timer);
      const unsent = await notHandedBack;
      await Promise.all(keptLong);
      return {
        batchItemFailures: [
          ...response.batchItemFailures,
          ...[...unsent].map((itemIdentifier) => ({ itemIdentifier })),
        ],
      };
    } finally {
      clearTimeout(timer);
      await hidden;
    }
  }

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger))
    .handler(async (event, context) => {
      try {
        return await work(event, context);
      } finally {
        await afterBatch?.().catch((error) => logger.warn('After the batch: failed', describeError(error)));
      }
    });
}
