import { randomBytes } from 'node:crypto';
import { BatchWriteItemCommand, PutItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { JobLogPort } from '#domain/job-lifecycle';
import type { JobLogEntry } from '#domain/jobs';
import { asAttributes, dynamo, dynamoItems, writeUntilProcessed } from './aws-clients.ts';

/** One line of one job's log. */
export interface JobLogLine {
  readonly jobId: string;
  readonly entry: JobLogEntry;
}

/** BatchWriteItem's limit. */
const linesPerBatch = 25;

export class JobLogStore implements JobLogPort {
  constructor(
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private itemOf({ jobId, entry }: JobLogLine) {
    return asAttributes({
      jobId,
      // Timestamp first so a Query returns the log in order; the suffix keeps concurrent lines apart.
      logId: `${entry.timestamp}#${randomBytes(4).toString('hex')}`,
      ...entry,
      expiresAt: Math.floor(Date.parse(entry.timestamp) / 1000) + this.retentionDays * 86_400,
    });
  }

  async append(jobId: string, entry: JobLogEntry): Promise<void> {
    // Lines are written through the item client, not the document layer (aws-clients.ts).
    await dynamoItems().send(
      new PutItemCommand({ TableName: this.tableName, Item: this.itemOf({ jobId, entry }) }),
    );
  }

  /**
   * Lines of any jobs, 25 to a BatchWriteItem. Lines DynamoDB leaves unprocessed (throttling)
   * are written again with backoff; what is still unprocessed after that throws.
   */
  async appendMany(lines: readonly JobLogLine[]): Promise<void> {
    for (let i = 0; i < lines.length; i += linesPerBatch) {
      await writeUntilProcessed<WriteRequest>(
        lines.slice(i, i + linesPerBatch).map((line) => ({ PutRequest: { Item: this.itemOf(line) } })),
        async (requests) => {
          const { UnprocessedItems } = await dynamoItems().send(
            new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } }),
          );
          return UnprocessedItems?.[this.tableName];
        },
        'log lines',
      );
    }
  }

  async list(jobId: string, limit = 1000): Promise<JobLogEntry[]> {
    const entries: JobLogEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'jobId = :jobId',
          ExpressionAttributeValues: { ':jobId': jobId },
          ExclusiveStartKey: startKey,
          Limit: limit - entries.length,
        }),
      );
      for (const item of page.Items ?? []) {
        entries.push({
          timestamp: item.timestamp,
          level: item.level,
          message: item.message,
          attempt: item.attempt,
          workerId: item.workerId,
        });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && entries.length < limit);
    return entries;
  }
}

/**
 * A job worker's log lines, written together: held for at most `maxDelayMs` (or until 25 are
 * held) and then written in one BatchWriteItem, and flushed when the worker's invocation ends,
 * before Lambda may freeze it. The ten short jobs of a batch of wake-ups make one write instead of
 * ten: the PutItem per job was a third of a no-op job's DynamoDB calls.
 *
 * What it changes: a line reaches the log up to `maxDelayMs` (or the invocation's end) after it
 * was written, so an attempt's last line may trail the job's final state by that much; and an
 * environment that crashes loses the lines it still holds — as it loses, unbatched, the line of
 * the attempt it crashes in. The job's state itself is never held.
 */
export class JobLogBatcher implements JobLogPort {
  private held: JobLogLine[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Pick<JobLogStore, 'appendMany'>,
    private readonly onLost: (error: unknown, lines: number) => void,
    private readonly maxDelayMs = 250,
  ) {}

  async append(jobId: string, entry: JobLogEntry): Promise<void> {
    this.held.push({ jobId, entry });
    if (this.held.length >= linesPerBatch) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.maxDelayMs);
  }

  /** Writes what is held; resolves once every write started so far has ended. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.held.splice(0);
    if (lines.length > 0) {
      const write = this.store.appendMany(lines).catch((error) => this.onLost(error, lines.length));
      this.writes = Promise.all([this.writes, write]).then(() => undefined);
    }
    return this.writes;
  }
}
