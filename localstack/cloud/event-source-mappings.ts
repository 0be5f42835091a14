/**
 * SQS → Lambda event source mappings as Lambda runs them: pollers receive batches, invoke the
 * function, and delete what succeeded. MaximumConcurrency bounds the concurrent invocations;
 * with ReportBatchItemFailures only the reported records stay on the queue.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { replaceFile } from './journal.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface QueueMapping {
  readonly uuid: string;
  readonly functionName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly reportBatchItemFailures: boolean;
  maximumConcurrency: number;
  enabled: boolean;
}

interface MappingEntry {
  readonly mapping: QueueMapping;
  /** The poller (while it runs) and the invocations in flight: the mapping is Disabling until 0. */
  running: number;
  inFlight: number;
  polling: boolean;
  readonly stop: AbortController;
  /** Wakes a poller that waits for a free invocation slot. */
  wake: () => void;
}

export class EventSourcePollers {
  private readonly mappings = new Map<string, MappingEntry>();
  private stopped = false;

  /** Operator changes (pause, concurrency) by mapping, kept across restarts in `stateFile`. */
  private readonly changed: Record<string, Partial<Pick<QueueMapping, 'maximumConcurrency' | 'enabled'>>>;

  constructor(
    private readonly sqs: SQSClient,
    private readonly runtime: LambdaRuntime,
    private readonly region: string,
    private readonly log: (line: string) => void,
    private readonly stateFile?: string,
  ) {
    this.changed = stateFile && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {};
  }

  add(mapping: Omit<QueueMapping, 'uuid'> & { uuid?: string }): QueueMapping {
    const uuid = mapping.uuid ?? randomUUID();
    // A line paused or a queue scaled before a restart stays so.
    const full: QueueMapping = { ...mapping, ...this.changed[uuid], uuid };
    const stop = new AbortController();
    // Every poller's receive listens for the stop signal.
    setMaxListeners(1000, stop.signal);
    this.mappings.set(full.uuid, {
      mapping: full,
      running: 0,
      inFlight: 0,
      polling: false,
      stop,
      wake: () => undefined,
    });
    this.reconcile(full.uuid);
    return full;
  }

  /** Enabled, or Disabling while pollers still finish their last receive, then Disabled (as on AWS). */
  state(uuid: string): 'Enabled' | 'Disabling' | 'Disabled' {
    const entry = this.mappings.get(uuid);
    if (entry?.mapping.enabled) return 'Enabled';
    return entry && entry.running > 0 ? 'Disabling' : 'Disabled';
  }

  list(): QueueMapping[] {
    return [...this.mappings.values()].map((m) => m.mapping);
  }

  get(uuid: string): QueueMapping | undefined {
    return this.mappings.get(uuid)?.mapping;
  }

  /** Applies a changed MaximumConcurrency or enabled flag (UpdateEventSourceMapping). */
  update(
    uuid: string,
    changes: Partial<Pick<QueueMapping, 'maximumConcurrency' | 'enabled'>>,
  ): QueueMapping | undefined {
    const entry = this.mappings.get(uuid);
    if (!entry) return undefined;
    Object.assign(entry.mapping, changes);
    this.changed[uuid] = { ...this.changed[uuid], ...changes };
    if (this.stateFile) replaceFile(this.stateFile, JSON.stringify(this.changed));
    this.reconcile(uuid);
    return entry.mapping;
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.mappings.values()) {
      entry.stop.abort();
      entry.wake();
    }
  }

  /** Starts the mapping's poller when it is enabled and has none. */
  private reconcile(uuid: string): void {
    const entry = this.mappings.get(uuid);
    if (!entry || this.stopped) return;
    entry.wake();
    if (entry.mapping.enabled && !entry.polling) {
      entry.polling = true;
      entry.running++;
      void this.poll(entry).finally(() => {
        entry.polling = false;
        entry.running--;
        // Enabled again while the last receive was finishing.
        if (entry.mapping.enabled && !this.stopped) this.reconcile(entry.mapping.uuid);
      });
    }
  }

  /**
   * One poller per mapping, as Lambda's: it receives up to 10 messages — no more than the free
   * invocation slots can take in batches of BatchSize — and starts one invocation per batch while
   * it goes on receiving. Invocations in flight never exceed MaximumConcurrency; a lowered one
   * lets the surplus finish. (One poller per slot, as before, long-polled the queue once per slot
   * and made most of the local cloud's calls on an idle factory.)
   */
  private async poll(entry: MappingEntry): Promise<void> {
    const { mapping } = entry;
    while (!this.stopped && mapping.enabled) {
      const free = mapping.maximumConcurrency - entry.inFlight;
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          entry.wake = resolve;
        });
        continue;
      }
      let messages: Message[] = [];
      try {
        const response = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: mapping.queueUrl,
            MaxNumberOfMessages: Math.min(10, free * mapping.batchSize),
            // Lambda's pollers wait 20 s; tried here, moto's StartExecution then stalled past the
            // API's 10 s while 31 long polls waited in its server (and Disabled came 20 s late).
            WaitTimeSeconds: 2,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: entry.stop.signal },
        );
        messages = response.Messages ?? [];
      } catch (error) {
        if (this.stopped) return;
        this.log(`[esm ${mapping.functionName}] receive failed: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (messages.length === 0) continue;
      if (!mapping.enabled) {
        // Disabled while this poll was waiting: the batch goes back unprocessed, as if never taken.
        await this.release(mapping, messages);
        return;
      }
      for (let i = 0; i < messages.length; i += mapping.batchSize) {
        entry.inFlight++;
        entry.running++;
        void this.deliver(mapping, messages.slice(i, i + mapping.batchSize)).finally(() => {
          entry.inFlight--;
          entry.running--;
          entry.wake();
        });
      }
    }
  }

  private async release(mapping: QueueMapping, messages: Message[]): Promise<void> {
    await this.sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: mapping.queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      )
      .catch((error: Error) => this.log(`[esm ${mapping.functionName}] release failed: ${error.message}`));
  }

  private async deliver(mapping: QueueMapping, messages: Message[]): Promise<void> {
    const event = {
      Records: messages.map((m) => ({
        messageId: m.MessageId,
        receiptHandle: m.ReceiptHandle,
        body: m.Body,
        attributes: m.Attributes ?? {},
        messageAttributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [
            k,
            {
              stringValue: v.StringValue,
              binaryValue: v.BinaryValue,
              dataType: v.DataType,
              stringListValues: [],
              binaryListValues: [],
            },
          ]),
        ),
        md5OfBody: m.MD5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: mapping.queueArn,
        awsRegion: this.region,
      })),
    };
    const outcome = await this.runtime.invoke(mapping.functionName, event);
    let done: Message[] = [];
    if (outcome.ok) {
      const failures = mapping.reportBatchItemFailures
        ? new Set(
            (
              (outcome.result as { batchItemFailures?: { itemIdentifier: string }[] } | null)
                ?.batchItemFailures ?? []
            ).map((f) => f.itemIdentifier),
          )
        : new Set<string>();
      done = messages.filter((m) => !failures.has(m.MessageId as string));
    } else {
      this.log(
        `[esm ${mapping.functionName}] batch of ${messages.length} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`,
      );
    }
    if (done.length === 0 || this.stopped) return;
    await this.sqs
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: mapping.queueUrl,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      )
      .catch((error: Error) => this.log(`[esm ${mapping.functionName}] delete failed: ${error.message}`));
  }
}
