import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { JobDispatch } from '#domain/job-intake';
import type { JobQueuePort, JobWakeUp } from '#domain/job-lifecycle';
import type { PriorityBand } from '#domain/job-queues';
import type { DeliveredMessages } from '#shared/sqs-batch';
import { captured, clientDefaults } from './aws-clients.ts';

let sqsClient: SQSClient | undefined;
const sqs = () => {
  sqsClient ??= captured(new SQSClient(clientDefaults));
  return sqsClient;
};

/** Queue URLs by job queue and priority band, as the stack hands them over (JOB_QUEUE_URLS). */
export type BandQueueUrls = Readonly<Record<string, Readonly<Record<PriorityBand, string>>>>;

/** The message is a wake-up call (domain/job-lifecycle.ts): the job row is the truth. */
export class JobQueueSender implements JobQueuePort {
  constructor(private readonly urls: BandQueueUrls) {}

  private url(queue: string, band: PriorityBand): string {
    const url = this.urls[queue]?.[band];
    if (!url) throw new Error(`No SQS queue for job queue ${queue}, band ${band}`);
    return url;
  }

  async send(queue: string, band: PriorityBand, wakeUp: JobWakeUp, delaySeconds: number): Promise<void> {
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: this.url(queue, band),
        MessageBody: JSON.stringify(wakeUp),
        DelaySeconds: Math.min(900, Math.max(0, delaySeconds)),
      }),
    );
  }

  /** Bulk intake: ten messages a call. Returns the ids whose send failed (their markers stay). */
  async sendMany(items: readonly JobDispatch[]): Promise<Set<string>> {
    return inTens(
      items,
      (item) => item.jobId,
      (item) => this.url(item.queue, item.band),
      (url, chunk) =>
        sqs().send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((item, n) => ({
              Id: String(n),
              MessageBody: JSON.stringify({ jobId: item.jobId, priority: item.priority }),
              DelaySeconds: Math.min(900, Math.max(0, item.delaySeconds)),
            })),
          }),
        ),
    );
  }

  /**
   * What a worker may do with the messages of the batch it was given, on the band queues they came
   * from (shared/sqs-batch.ts, one at a time): hide them, send their bodies again as new messages
   * (wake-ups it hands back), delete them.
   */
  deliveredMessages(): DeliveredMessages {
    const byName = new Map(
      Object.values(this.urls).flatMap((bands) => Object.values(bands).map((url) => [nameOf(url), url])),
    );
    const urlOf = (record: SQSRecord) => {
      const url = byName.get(nameOf(record.eventSourceARN));
      if (!url) throw new Error(`No band queue named by ${record.eventSourceARN}`);
      return url;
    };
    const entries = (chunk: readonly SQSRecord[]) =>
      chunk.map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle }));
    const allDone = (label: string) => (failed: Set<string>) => {
      if (failed.size > 0) throw new Error(`${label}: ${failed.size} message(s) failed`);
    };
    return {
      hide: (records, seconds) =>
        inTens(records, messageIdOf, urlOf, (url, chunk) =>
          sqs().send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: url,
              Entries: entries(chunk).map((e) => ({ ...e, VisibilityTimeout: Math.min(43_200, seconds) })),
            }),
          ),
        ).then(allDone('ChangeMessageVisibilityBatch')),
      resend: (records, delaySeconds) =>
        inTens(records, messageIdOf, urlOf, (url, chunk) =>
          sqs().send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: chunk.map((r, n) => ({
                Id: String(n),
                MessageBody: r.body,
                ...(delaySeconds ? { DelaySeconds: Math.min(900, Math.ceil(delaySeconds)) } : {}),
              })),
            }),
          ),
        ),
      remove: (records) =>
        inTens(records, messageIdOf, urlOf, (url, chunk) =>
          sqs().send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries(chunk) })),
        ).then(allDone('DeleteMessageBatch')),
    };
  }

  /** Messages waiting (visible) in a band queue: an estimate of the line a new job joins. */
  async waiting(queue: string, band: PriorityBand): Promise<number> {
    const { Attributes = {} } = await sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: this.url(queue, band),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes.ApproximateNumberOfMessages ?? 0);
  }
}

/** A queue's name: the last part of its URL or ARN. */
const nameOf = (urlOrArn: string) => urlOrArn.split(/[/:]/).pop() ?? urlOrArn;

const messageIdOf = (record: SQSRecord) => record.messageId;

/**
 * One SQS batch call per ten items of a queue, all at once; returns the ids of the items that
 * failed (an entry the call refused, or every entry of a call that failed).
 */
async function inTens<T>(
  items: readonly T[],
  idOf: (item: T) => string,
  urlOf: (item: T) => string,
  call: (url: string, chunk: readonly T[]) => Promise<{ Failed?: { Id?: string }[] }>,
): Promise<Set<string>> {
  const failed = new Set<string>();
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const url = urlOf(item);
    groups.set(url, [...(groups.get(url) ?? []), item]);
  }
  const calls: Promise<void>[] = [];
  for (const [url, group] of groups) {
    for (let i = 0; i < group.length; i += 10) {
      const chunk = group.slice(i, i + 10);
      calls.push(
        call(url, chunk)
          .then((result) => {
            for (const f of result.Failed ?? []) {
              const item = chunk[Number(f.Id)];
              if (item !== undefined) failed.add(idOf(item));
            }
          })
          .catch(() => {
            for (const item of chunk) failed.add(idOf(item));
          }),
      );
    }
  }
  await Promise.all(calls);
  return failed;
}
