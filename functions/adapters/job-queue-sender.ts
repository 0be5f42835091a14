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
    return sendInTens(
      items.map((item) => ({
        id: item.jobId,
        url: this.url(item.queue, item.band),
        body: JSON.stringify({ jobId: item.jobId, priority: item.priority }),
        delaySeconds: Math.min(900, Math.max(0, item.delaySeconds)),
      })),
    );
  }

  /**
   * Puts delivered messages back on the band queues they came from, as new messages with the same
   * bodies (a worker handing back wake-ups it will not get to). Returns the messageIds it could
   * not put back.
   */
  async putBack(
    messages: readonly { messageId: string; body: string; eventSourceARN: string }[],
  ): Promise<Set<string>> {
    const byName = new Map(
      Object.values(this.urls).flatMap((bands) => Object.values(bands).map((url) => [nameOf(url), url])),
    );
    const unknown = messages.filter((m) => !byName.has(nameOf(m.eventSourceARN))).map((m) => m.messageId);
    const failed = await sendInTens(
      messages.flatMap((m) => {
        const url = byName.get(nameOf(m.eventSourceARN));
        return url ? [{ id: m.messageId, url, body: m.body, delaySeconds: 0 }] : [];
      }),
    );
    return new Set([...unknown, ...failed]);
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

/** Sends messages ten to a SendMessageBatch per queue; returns the ids of those not sent. */
async function sendInTens(
  messages: readonly { id: string; url: string; body: string; delaySeconds: number }[],
): Promise<Set<string>> {
  const failed = new Set<string>();
  const groups = new Map<string, (typeof messages)[number][]>();
  for (const message of messages) groups.set(message.url, [...(groups.get(message.url) ?? []), message]);
  const calls: Promise<void>[] = [];
  for (const [url, group] of groups) {
    for (let i = 0; i < group.length; i += 10) {
      const chunk = group.slice(i, i + 10);
      calls.push(
        sqs()
          .send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: chunk.map((m, n) => ({
                Id: String(n),
                MessageBody: m.body,
                DelaySeconds: m.delaySeconds,
              })),
            }),
          )
          .then((result) => {
            for (const f of result.Failed ?? []) {
              const message = chunk[Number(f.Id)];
              if (message) failed.add(message.id);
            }
          })
          .catch(() => {
            for (const message of chunk) failed.add(message.id);
          }),
      );
    }
  }
  await Promise.all(calls);
  return failed;
}
