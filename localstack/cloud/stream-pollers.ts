/**
 * DynamoDB stream → Lambda event source mappings as Lambda runs them: per shard, in order, a
 * batch of up to BatchSize records (gathered for up to MaximumBatchingWindowInSeconds) per
 * invocation, the next batch only once this one succeeded. A failed batch is retried (with
 * BisectBatchOnFunctionError halved first) up to MaximumRetryAttempts (-1: until its records
 * expire); with ReportBatchItemFailures the shard resumes at the first reported record. A batch
 * that exhausts its retries goes to the OnFailure destination (an SQS queue gets Lambda's
 * DDBStreamBatchInfo message) and the shard moves on.
 *
 * Reads go through the DynamoDB Streams API, so the same pollers read the embedded data plane's
 * streams (dynamo-streams.ts) and moto's. The position of each shard is checkpointed after each
 * batch (in `stateFile`), so a restart resumes after the last processed batch: at least once, as
 * on AWS. Not modelled: ParallelizationFactor (1), FilterCriteria (warned by the provisioner),
 * tumbling windows.
 */
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { replaceFile } from './journal.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface StreamMapping {
  readonly uuid: string;
  readonly functionName: string;
  readonly streamArn: string;
  readonly batchSize: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
  readonly maximumBatchingWindowMs: number;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: retry until the records expire. */
  readonly maximumRetryAttempts: number;
  readonly reportBatchItemFailures: boolean;
  /** The OnFailure destination, when it is an SQS queue. */
  readonly onFailureQueueUrl?: string;
  readonly enabled: boolean;
}

export interface StreamPollerOptions {
  /** How often an idle shard is read (Lambda: four times a second). @default 250 ms */
  readonly idlePollMs?: number;
  /** The longest pause between retries of a failed batch. @default 10 s */
  readonly maxRetryDelayMs?: number;
  /**
   * Registers a callback for new stream records, naming their stream (the embedded backend
   * knows). A waiting shard of that stream then reads at once instead of at its next quarter second (after an empty read), or
   * `busyGapMs` after a read that found records: events are not held up to 250 ms each, and
   * batches still form under load.
   */
  readonly onRecord?: (listener: (streamArn: string) => void) => void;
  /** With `onRecord`: the least time between reads of a shard that is finding records. @default 100 ms */
  readonly busyGapMs?: number;
}

/**
 * A pause that a stop (or a `wakers` call) ends early, and that leaves no listener behind.
 * Resolves true when it was cut short.
 */
const sleep = (ms: number, signal: AbortSignal, wakers?: Set<() => void>) =>
  new Promise<boolean>((resolve) => {
    if (signal.aborted) return resolve(true);
    const wake = () => {
      clearTimeout(timer);
      wakers?.delete(wake);
      signal.removeEventListener('abort', wake);
      resolve(true);
    };
    wakers?.add(wake);
    const timer = setTimeout(() => {
      wakers?.delete(wake);
      signal.removeEventListener('abort', wake);
      resolve(false);
    }, ms);
    // A poller's wait never keeps the process alive on its own.
    timer.unref();
    signal.addEventListener('abort', wake, { once: true });
  });

const checkpointEveryMs = 250;

export class StreamPollers {
  private readonly mappings: StreamMapping[] = [];
  private readonly stopping = new AbortController();
  /** The last processed sequence number by mapping and shard. */
  private readonly checkpoints: Record<string, Record<string, string>>;
  private readonly idlePollMs: number;
  private readonly maxRetryDelayMs: number;

  constructor(
    private readonly streams: DynamoDBStreamsClient,
    private readonly sqs: SQSClient,
    private readonly runtime: LambdaRuntime,
    private readonly log: (line: string) => void,
    private readonly stateFile?: string,
    options: StreamPollerOptions = {},
  ) {
    this.checkpoints = stateFile && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {};
    // Every shard's reads listen for the stop while they wait.
    setMaxListeners(1000, this.stopping.signal);
    this.idlePollMs = options.idlePollMs ?? 250;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
    this.busyGapMs = options.busyGapMs ?? 100;
    this.wakes = options.onRecord !== undefined;
    // Only the record's own stream wakes: waking every stream on any record had each idle
    // stream read once per write elsewhere (9 empty GetRecords per job under load).
    options.onRecord?.((streamArn) => {
      for (const wake of [...(this.idleShards.get(streamArn) ?? [])]) wake();
    });
  }

  /** The waits of shards between reads, by stream, which a new record of the stream ends. */
  private readonly idleShards = new Map<string, Set<() => void>>();
  private readonly busyGapMs: number;
  private readonly wakes: boolean;

  private idleOf(mapping: StreamMapping): Set<() => void> {
    const idle = this.idleShards.get(mapping.streamArn) ?? new Set<() => void>();
    this.idleShards.set(mapping.streamArn, idle);
    return idle;
  }

  add(mapping: StreamMapping): void {
    this.mappings.push(mapping);
    if (mapping.enabled) void this.run(mapping);
  }

  list(): readonly StreamMapping[] {
    return this.mappings;
  }

  stop(): void {
    this.stopping.abort();
    if (this.saving) this.saveCheckpoints();
  }

  private async run(mapping: StreamMapping): Promise<void> {
    const signal = this.stopping.signal;
    const shards = new Set<string>();
    while (!signal.aborted) {
      try {
        const { StreamDescription } = await this.streams.send(
          new DescribeStreamCommand({ StreamArn: mapping.streamArn }),
          { abortSignal: signal },
        );
        for (const shard of StreamDescription?.Shards ?? []) {
          const id = shard.ShardId as string;
          if (shards.has(id)) continue;
          shards.add(id);
          void this.readShard(mapping, id);
        }
      } catch (error) {
        if (signal.aborted) return;
        this.log(`[esm ${mapping.functionName}] DescribeStream failed: ${(error as Error).message}`);
      }
      // New shards appear when AWS splits a stream; moto and the embedded plane keep one.
      await sleep(60_000, signal);
    }
  }

  private async iterator(mapping: StreamMapping, shardId: string): Promise<string | undefined> {
    const after = this.checkpoints[mapping.uuid]?.[shardId];
    const ask = (type: string, sequence?: string) =>
      this.streams.send(
        new GetShardIteratorCommand({
          StreamArn: mapping.streamArn,
          ShardId: shardId,
          ShardIteratorType: type as never,
          ...(sequence ? { SequenceNumber: sequence } : {}),
        }),
        { abortSignal: this.stopping.signal },
      );
    if (!after) return (await ask(mapping.startingPosition)).ShardIterator;
    try {
      return (await ask('AFTER_SEQUENCE_NUMBER', after)).ShardIterator;
    } catch (error) {
      if ((error as Error).name !== 'TrimmedDataAccessException') throw error;
      this.log(
        `[esm ${mapping.functionName}] records after ${after} expired before they were read; going on from the oldest kept`,
      );
      return (await ask('TRIM_HORIZON')).ShardIterator;
    }
  }

  private async readShard(mapping: StreamMapping, shardId: string): Promise<void> {
    const signal = this.stopping.signal;
    let iterator: string | undefined;
    let pending: StreamRecord[] = [];
    let firstArrived = 0;
    let idle = false;
    let readAt = 0;
    while (!signal.aborted) {
      try {
        iterator ??= await this.iterator(mapping, shardId);
        if (!iterator) return; // the shard is closed and read
        const { Records = [], NextShardIterator } = await this.streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
          { abortSignal: signal },
        );
        iterator = NextShardIterator;
        idle = Records.length === 0;
        readAt = Date.now();
        if (Records.length > 0 && pending.length === 0) firstArrived = Date.now();
        pending.push(...Records);
      } catch (error) {
        if (signal.aborted) return;
        this.log(`[esm ${mapping.functionName}] GetRecords failed: ${(error as Error).message}`);
        iterator = undefined;
        await sleep(1000, signal);
        continue;
      }
      // A full batch goes at once; a partial one when the batching window has passed.
      const windowOver = Date.now() - firstArrived >= mapping.maximumBatchingWindowMs;
      while (pending.length >= mapping.batchSize || (pending.length > 0 && windowOver)) {
        const batch = pending.slice(0, mapping.batchSize);
        pending = pending.slice(batch.length);
        await this.deliver(mapping, shardId, batch);
        if (signal.aborted) return;
      }
      // A batching window is waited out in full; only the wait for new records is cut short.
      if (pending.length > 0 && !windowOver) await sleep(this.idlePollMs, signal);
      else if (pending.length === 0) {
        const woken = await sleep(this.idlePollMs, signal, this.wakes ? this.idleOf(mapping) : undefined);
        const since = Date.now() - readAt;
        if (woken && !idle && since < this.busyGapMs) await sleep(this.busyGapMs - since, signal);
      }
    }
  }

  /** One batch, until it succeeded or its retries are spent; then the shard's checkpoint moves. */
  private async deliver(mapping: StreamMapping, shardId: string, batch: StreamRecord[]): Promise<void> {
    let attempts = 0;
    let remaining = batch;
    while (remaining.length > 0 && !this.stopping.signal.aborted) {
      const outcome = await this.invoke(mapping, remaining);
      if (outcome.failedAt === undefined) {
        this.checkpoint(mapping, shardId, remaining.at(-1) as StreamRecord);
        return;
      }
      // The records before the first failure are done.
      if (outcome.failedAt > 0)
        this.checkpoint(mapping, shardId, remaining[outcome.failedAt - 1] as StreamRecord);
      remaining = remaining.slice(outcome.failedAt);
      attempts++;
      if (mapping.maximumRetryAttempts >= 0 && attempts > mapping.maximumRetryAttempts) {
        await this.sendToOnFailure(mapping, shardId, remaining, outcome.reason);
        this.checkpoint(mapping, shardId, remaining.at(-1) as StreamRecord);
        return;
      }
      if (mapping.bisectBatchOnFunctionError && outcome.whole && remaining.length > 1) {
        // Halve: the first half alone next (its own retries), then the rest.
        const half = remaining.slice(0, Math.ceil(remaining.length / 2));
        await this.deliver(mapping, shardId, half);
        remaining = remaining.slice(half.length);
        attempts = 0;
        continue;
      }
      await sleep(Math.min(this.maxRetryDelayMs, 200 * 2 ** Math.min(attempts, 10)), this.stopping.signal);
    }
  }

  /** failedAt: index of the first record to retry (undefined: all done); whole: the call failed. */
  private async invoke(
    mapping: StreamMapping,
    records: StreamRecord[],
  ): Promise<{ failedAt?: number; whole?: boolean; reason?: string }> {
    const event = { Records: records.map((r) => lambdaRecordOf(r, mapping.streamArn)) };
    const outcome = await this.runtime.invoke(mapping.functionName, event);
    if (!outcome.ok) {
      const reason = `${outcome.error.errorType}: ${outcome.error.errorMessage}`;
      this.log(`[esm ${mapping.functionName}] batch of ${records.length} stream records failed: ${reason}`);
      return { failedAt: 0, whole: true, reason };
    }
    if (!mapping.reportBatchItemFailures) return {};
    const failures = (outcome.result as { batchItemFailures?: { itemIdentifier?: string }[] } | null)
      ?.batchItemFailures;
    if (!failures || failures.length === 0) return {};
    const failed = new Set(failures.map((f) => f.itemIdentifier));
    const at = records.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber));
    // An identifier that names no record of the batch fails the whole batch, as on Lambda.
    return { failedAt: at < 0 ? 0 : at, whole: at < 0, reason: 'reported batch item failures' };
  }

  private checkpoint(mapping: StreamMapping, shardId: string, last: StreamRecord): void {
    const sequence = last.dynamodb?.SequenceNumber;
    if (!sequence) return;
    this.checkpoints[mapping.uuid] = { ...this.checkpoints[mapping.uuid], [shardId]: sequence };
    // Written a quarter second after the first change, not after every batch (a file replaced per
    // batch was a few per cent of a busy drain): a crash replays at most that much, which the
    // consumers take as they take any redelivery (at least once, as Lambda's own pollers).
    if (this.stateFile && !this.saving)
      this.saving = setTimeout(() => this.saveCheckpoints(), checkpointEveryMs);
  }

  private saving: NodeJS.Timeout | undefined;

  private saveCheckpoints(): void {
    clearTimeout(this.saving);
    this.saving = undefined;
    if (this.stateFile) replaceFile(this.stateFile, JSON.stringify(this.checkpoints));
  }

  private async sendToOnFailure(
    mapping: StreamMapping,
    shardId: string,
    records: StreamRecord[],
    reason = 'retries exhausted',
  ): Promise<void> {
    this.log(
      `[esm ${mapping.functionName}] ${records.length} stream records given up after ${mapping.maximumRetryAttempts} retries (${reason})`,
    );
    if (!mapping.onFailureQueueUrl) return;
    const first = records[0]?.dynamodb;
    const last = records.at(-1)?.dynamodb;
    await this.sqs
      .send(
        new SendMessageCommand({
          QueueUrl: mapping.onFailureQueueUrl,
          MessageBody: JSON.stringify({
            requestContext: {
              functionArn: this.runtime.get(mapping.functionName)?.arn,
              condition: 'RetryAttemptsExhausted',
              approximateInvokeCount: mapping.maximumRetryAttempts + 1,
            },
            responseContext: { statusCode: 200, functionError: reason },
            version: '1.0',
            timestamp: new Date().toISOString(),
            DDBStreamBatchInfo: {
              shardId,
              startSequenceNumber: first?.SequenceNumber,
              endSequenceNumber: last?.SequenceNumber,
              approximateArrivalOfFirstRecord: first?.ApproximateCreationDateTime,
              approximateArrivalOfLastRecord: last?.ApproximateCreationDateTime,
              batchSize: records.length,
              streamArn: mapping.streamArn,
            },
          }),
        }),
      )
      .catch((error: Error) =>
        this.log(`[esm ${mapping.functionName}] OnFailure send failed: ${error.message}`),
      );
  }
}

/**
 * A record as Lambda passes it: the SDK read the creation time as a Date and binary values as
 * bytes; the event has epoch seconds and base64, like the Streams API's JSON.
 */
function lambdaRecordOf(record: StreamRecord, streamArn: string): unknown {
  const plain = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
    return value;
  };
  const dynamodb = record.dynamodb ?? {};
  const created = dynamodb.ApproximateCreationDateTime;
  return {
    ...record,
    dynamodb: {
      ...(plain(dynamodb) as object),
      ...(created instanceof Date ? { ApproximateCreationDateTime: created.getTime() / 1000 } : {}),
    },
    eventSourceARN: streamArn,
  };
}
