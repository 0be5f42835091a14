import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { JobDispatch } from '#domain/job-intake';
import type { JobQueuePort, JobWakeUp } from '#domain/job-lifecycle';
import type { PriorityBand } from '#domain/job-queues';
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
    const failed = new Set<string>();
    const groups = new Map<string, typeof items>();
    for (const item of items) {
      const url = this.url(item.queue, item.band);
      groups.set(url, [...(groups.get(url) ?? []), item]);
    }
    const calls: Promise<void>[] = [];
    for (const [url, group] of groups) {
      for (let i = 0; i < group.length; i += 10) {
        const chunk = group.slice(i, i + 10);
        calls.push(
          sqs()
            .send(
              new SendMessageBatchCommand({
                QueueUrl: url,
                Entries: chunk.map((item, n) => ({
                  Id: String(n),
                  MessageBody: JSON.stringify({ jobId: item.jobId, priority: item.priority }),
                  DelaySeconds: Math.min(900, Math.max(0, item.delaySeconds)),
                })),
              }),
            )
            .then((result) => {
              for (const f of result.Failed ?? []) {
                const item = chunk[Number(f.Id)];
                if (item) failed.add(item.jobId);
              }
            })
            .catch(() => {
              for (const item of chunk) failed.add(item.jobId);
            }),
        );
      }
    }
    await Promise.all(calls);
    return failed;
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
