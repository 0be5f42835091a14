/**
 * DynamoDB Streams for the embedded data plane (dynalite has none): the change records of every
 * table whose template declares a StreamSpecification, served through the DynamoDB Streams API
 * (ListStreams, DescribeStream, GetShardIterator, GetRecords) so that the local event source
 * mappings read them exactly as they read moto's streams, or as Lambda reads AWS's.
 *
 * As on AWS: one record per write that changed the item (a Put or Update that leaves it as it
 * was writes none), in the order of the writes, with the keys and the images the stream's view
 * type asks for; records are kept 24 hours. One shard per stream (AWS splits a busy stream into
 * several; the order per item is the same). The records and the streams' specifications are
 * journalled, so a consumer that was behind before a kill -9 resumes where its checkpoint was.
 * Not modelled: shard rollover, iterator expiry (15 min on AWS), the TTL service identity.
 */
import { randomUUID } from 'node:crypto';
import {
  type DynaliteItem,
  type DynaliteTable,
  dynaliteItemSize as itemSize,
  sameItem,
} from './dynalite-writes.ts';
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import { Journal } from './journal.ts';

export type StreamViewType = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';

export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: DynaliteItem;
    readonly NewImage?: DynaliteItem;
    readonly OldImage?: DynaliteItem;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: StreamViewType;
  };
}

interface Stream {
  readonly table: string;
  readonly arn: string;
  readonly label: string;
  readonly viewType: StreamViewType;
  readonly keys: readonly string[];
  readonly shardId: string;
  readonly createdAt: number;
  /** In write order; sequence numbers increase. */
  records: Kept[];
}

/** A record as kept: its JSON (what GetRecords answers with, built once), its order and age. */
interface Kept {
  readonly sequence: bigint;
  readonly at: number;
  readonly json: string;
}

const kept = (record: StreamRecord): Kept => ({
  sequence: BigInt(record.dynamodb.SequenceNumber),
  at: record.dynamodb.ApproximateCreationDateTime,
  json: JSON.stringify(record),
});

type Entry =
  | { t: 'stream'; table: string; label: string; viewType: StreamViewType; keys: string[]; at: number }
  | { t: 'off'; table: string }
  | { t: 'record'; table: string; record: StreamRecord };

export interface LocalStreamsOptions {
  readonly region: string;
  readonly accountId: string;
  /** The journal (durable across restarts); in memory only without one. */
  readonly file?: string;
  /** How long records are kept. @default 24 hours, as on AWS */
  readonly retentionMs?: number;
  /**
   * At most this many records per stream (the oldest go first): a bound on memory that AWS does
   * not have (a 10,000-job run writes ~60,000 records of ~2 KB). @default 50,000
   */
  readonly maxRecords?: number;
  readonly now?: () => number;
}

const sequenceWidth = 21;
const toSequence = (n: bigint) => n.toString().padStart(sequenceWidth, '0');

const json = (status: number, body: unknown): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify(body),
});
const failure = (type: string, message: string) =>
  json(400, { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });

export class LocalStreams {
  private readonly streams = new Map<string, Stream>();
  private readonly journal: Journal<Entry>;
  private sequence = 0n;
  private readonly retentionMs: number;
  private readonly maxRecords: number;
  private readonly now: () => number;
  private readonly recordListeners: ((streamArn: string) => void)[] = [];

  constructor(private readonly options: LocalStreamsOptions) {
    this.retentionMs = options.retentionMs ?? 86_400_000;
    this.maxRecords = options.maxRecords ?? 50_000;
    this.now = options.now ?? Date.now;
    this.journal = new Journal<Entry>(options.file, { deferred: true });
    for (const entry of this.journal.load()) this.apply(entry);
    this.trim();
    this.journal.rewrite(this.entries());
  }

  /**
   * Writes the records captured since the last call to the journal: the DynamoDB API calls it
   * once per call, before the table's own writes are flushed and the call answered.
   */
  flush(): void {
    this.journal.flush();
  }

  /** Closes the journal (the local cloud stops). */
  stop(): void {
    this.journal.close();
  }

  /** Called on every new record (the stream pollers' wake-up; records are read through the API). */
  onRecord(listener: (streamArn: string) => void): void {
    this.recordListeners.push(listener);
  }

  /** Turns a table's stream on (a new label, as AWS gives a re-enabled stream) or keeps it. */
  enable(table: string, keys: readonly string[], viewType: StreamViewType): Stream {
    const current = this.streams.get(table);
    if (current && current.viewType === viewType) return current;
    const entry: Entry = {
      t: 'stream',
      table,
      label: new Date(this.now()).toISOString().replace('Z', ''),
      viewType,
      keys: [...keys],
      at: this.now(),
    };
    this.journal.append(entry);
    // On disk before the CreateTable or UpdateTable that asked for it is answered.
    this.journal.flush();
    this.apply(entry);
    return this.streams.get(table) as Stream;
  }

  disable(table: string): void {
    if (!this.streams.has(table)) return;
    const entry: Entry = { t: 'off', table };
    this.journal.append(entry);
    this.journal.flush();
    this.apply(entry);
  }

  /** What DescribeTable adds for a table with a stream. */
  describe(table: string): Record<string, unknown> | undefined {
    const stream = this.streams.get(table);
    if (!stream) return undefined;
    return {
      StreamSpecification: { StreamEnabled: true, StreamViewType: stream.viewType },
      LatestStreamArn: stream.arn,
      LatestStreamLabel: stream.label,
    };
  }

  /**
   * A write dynalite applied (dynalite-writes.ts): its record, if the table has a stream.
   */
  capture(
    table: DynaliteTable,
    before: DynaliteItem | null | undefined,
    after: DynaliteItem | null | undefined,
  ) {
    const stream = this.streams.get(table.TableName);
    if (!stream || (!before && !after)) return;
    if (before && after && sameItem(before, after)) return;
    const item = (after ?? before) as DynaliteItem;
    const keys: DynaliteItem = {};
    for (const k of stream.keys) if (item[k]) keys[k] = item[k];
    const view = stream.viewType;
    this.sequence++;
    const newImage = after && (view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? after : undefined;
    const oldImage = before && (view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES') ? before : undefined;
    const at = Math.floor(this.now() / 1000);
    const record: StreamRecord = {
      // randomUUID draws from a buffered pool; randomBytes asked the OS for every record.
      eventID: randomUUID().replaceAll('-', ''),
      eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.options.region,
      dynamodb: {
        ApproximateCreationDateTime: at,
        Keys: keys,
        ...(newImage ? { NewImage: newImage } : {}),
        ...(oldImage ? { OldImage: oldImage } : {}),
        SequenceNumber: toSequence(this.sequence),
        // The keys and images by DynamoDB's measure of an item (dynalite's), not their JSON.
        SizeBytes: itemSize(keys) + (newImage ? itemSize(newImage) : 0) + (oldImage ? itemSize(oldImage) : 0),
        StreamViewType: view,
      },
    };
    // Serialized once: what GetRecords answers with, and inside the journal's line.
    const json = JSON.stringify(record);
    this.journal.appendJson(`{"t":"record","table":${JSON.stringify(stream.table)},"record":${json}}`);
    stream.records.push({ sequence: this.sequence, at, json });
    for (const listener of this.recordListeners) listener(stream.arn);
    if (stream.records.length > this.maxRecords * 1.1) this.trim();
    if (this.journal.length > 2 * this.liveRecords() + 10_000) {
      this.trim();
      this.journal.rewrite(this.entries());
    }
  }

  /**
   * dynalite's DynamoDB API with the table side of streams: StreamSpecification on CreateTable
   * and UpdateTable, and the stream's ARN and label in DescribeTable, CreateTable and UpdateTable.
   */
  tables(dynamodb: (request: BufferedRequest) => Promise<ServiceResponse>) {
    return async (request: BufferedRequest): Promise<ServiceResponse> => {
      const action = String(request.headers['x-amz-target'] ?? '').split('.')[1];
      if (!['CreateTable', 'UpdateTable', 'DescribeTable', 'DeleteTable'].includes(action ?? ''))
        return dynamodb(request);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(request.body.toString() || '{}');
      } catch {
        return dynamodb(request);
      }
      const table = String(input.TableName ?? '');
      const specification = input.StreamSpecification as
        | { StreamEnabled?: boolean; StreamViewType?: StreamViewType }
        | undefined;
      const { StreamSpecification: _, ...rest } = input;
      let response: ServiceResponse;
      if (action === 'UpdateTable' && specification && Object.keys(rest).length === 1) {
        // Only the stream changes: dynalite would refuse an update with nothing of its own.
        response = await dynamodb({
          ...request,
          headers: { ...request.headers, 'x-amz-target': 'DynamoDB_20120810.DescribeTable' },
          body: Buffer.from(JSON.stringify({ TableName: table })),
        });
      } else response = await dynamodb({ ...request, body: Buffer.from(JSON.stringify(rest)) });
      if (response.status !== 200) return response;
      if (action === 'DeleteTable') {
        this.disable(table);
        return response;
      }
      const body = JSON.parse(response.body.toString()) as Record<string, Record<string, unknown>>;
      const description = (body.Table ?? body.TableDescription) as Record<string, unknown> | undefined;
      if (specification && description) {
        if (specification.StreamEnabled && specification.StreamViewType) {
          const keys = (description.KeySchema as { AttributeName: string }[]).map((k) => k.AttributeName);
          this.enable(table, keys, specification.StreamViewType);
        } else if (specification.StreamEnabled === false) this.disable(table);
      }
      if (!description) return response;
      Object.assign(description, this.describe(table));
      const answer =
        action === 'UpdateTable' && !body.TableDescription ? { TableDescription: description } : body;
      return { ...response, body: JSON.stringify(answer) };
    };
  }

  /** The DynamoDB Streams API (X-Amz-Target DynamoDBStreams_20120810.*). */
  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const action = String(request.headers['x-amz-target'] ?? '').split('.')[1];
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(request.body.toString() || '{}');
    } catch {
      return failure('SerializationException', 'The request body is not JSON');
    }
    this.trim();
    switch (action) {
      case 'ListStreams': {
        const streams = [...this.streams.values()]
          .filter((s) => input.TableName === undefined || s.table === input.TableName)
          .map((s) => ({ StreamArn: s.arn, TableName: s.table, StreamLabel: s.label }));
        return json(200, { Streams: streams });
      }
      case 'DescribeStream': {
        const stream = this.byArn(input.StreamArn);
        if (!stream)
          return failure('ResourceNotFoundException', `Stream not found: ${String(input.StreamArn)}`);
        return json(200, {
          StreamDescription: {
            StreamArn: stream.arn,
            StreamLabel: stream.label,
            StreamStatus: 'ENABLED',
            StreamViewType: stream.viewType,
            CreationRequestDateTime: stream.createdAt / 1000,
            TableName: stream.table,
            KeySchema: stream.keys.map((k, i) => ({ AttributeName: k, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
            Shards: [
              {
                ShardId: stream.shardId,
                SequenceNumberRange: { StartingSequenceNumber: toSequence(1n) },
              },
            ],
          },
        });
      }
      case 'GetShardIterator': {
        const stream = this.byArn(input.StreamArn);
        if (!stream || input.ShardId !== stream.shardId)
          return failure('ResourceNotFoundException', `Shard not found: ${String(input.ShardId)}`);
        const last = stream.records.at(-1)?.sequence;
        const first = stream.records[0]?.sequence;
        let after: bigint;
        switch (input.ShardIteratorType) {
          case 'TRIM_HORIZON':
            after = first !== undefined ? first - 1n : this.sequence;
            break;
          case 'LATEST':
            after = last ?? this.sequence;
            break;
          case 'AT_SEQUENCE_NUMBER':
          case 'AFTER_SEQUENCE_NUMBER': {
            if (typeof input.SequenceNumber !== 'string' || !/^\d{1,40}$/.test(input.SequenceNumber))
              return failure('ValidationException', 'SequenceNumber must be a sequence number of the shard');
            const at = BigInt(input.SequenceNumber);
            after = input.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? at - 1n : at;
            // Trimmed past: the records are gone (AWS's answer after 24 hours).
            if (first !== undefined && after < first - 1n)
              return failure(
                'TrimmedDataAccessException',
                `Sequence number ${input.SequenceNumber} was trimmed`,
              );
            break;
          }
          default:
            return failure(
              'ValidationException',
              `Unknown ShardIteratorType ${String(input.ShardIteratorType)}`,
            );
        }
        return json(200, { ShardIterator: iteratorOf(stream, after) });
      }
      case 'GetRecords': {
        const position = parseIterator(input.ShardIterator);
        const stream = position && this.byArn(position.arn);
        if (!position || !stream) return failure('ValidationException', 'Invalid ShardIterator');
        const limit = Math.min(1000, Math.max(1, Number(input.Limit ?? 1000)));
        const from = firstAfter(stream.records, position.after);
        const records = stream.records.slice(from, from + limit);
        const next = records.at(-1)?.sequence ?? position.after;
        return {
          status: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: `{"Records":[${records.map((r) => r.json).join(',')}],"NextShardIterator":${JSON.stringify(iteratorOf(stream, next))}}`,
        };
      }
      default:
        return failure(
          'UnknownOperationException',
          `DynamoDB Streams ${String(action)} is not served locally`,
        );
    }
  };

  private byArn(arn: unknown): Stream | undefined {
    return [...this.streams.values()].find((s) => s.arn === arn);
  }

  private apply(entry: Entry): void {
    if (entry.t === 'stream') {
      const { region, accountId } = this.options;
      this.streams.set(entry.table, {
        table: entry.table,
        arn: `arn:aws:dynamodb:${region}:${accountId}:table/${entry.table}/stream/${entry.label}`,
        label: entry.label,
        viewType: entry.viewType,
        keys: entry.keys,
        shardId: `shardId-${String(entry.at).padStart(20, '0')}-00000001`,
        createdAt: entry.at,
        records: [],
      });
    } else if (entry.t === 'off') this.streams.delete(entry.table);
    else {
      this.streams.get(entry.table)?.records.push(kept(entry.record));
      const n = BigInt(entry.record.dynamodb.SequenceNumber);
      if (n > this.sequence) this.sequence = n;
    }
  }

  private trim(): void {
    const horizon = Math.floor((this.now() - this.retentionMs) / 1000);
    for (const stream of this.streams.values()) {
      let drop = Math.max(0, stream.records.length - this.maxRecords);
      while (drop < stream.records.length && (stream.records[drop]?.at ?? 0) < horizon) drop++;
      if (drop > 0) stream.records = stream.records.slice(drop);
    }
  }

  private liveRecords(): number {
    let n = 0;
    for (const stream of this.streams.values()) n += stream.records.length;
    return n;
  }

  private entries(): Entry[] {
    return [...this.streams.values()].flatMap((s): Entry[] => [
      {
        t: 'stream',
        table: s.table,
        label: s.label,
        viewType: s.viewType,
        keys: [...s.keys],
        at: s.createdAt,
      },
      ...s.records.map((r): Entry => ({ t: 'record', table: s.table, record: JSON.parse(r.json) })),
    ]);
  }
}

function iteratorOf(stream: Stream, after: bigint): string {
  return Buffer.from(JSON.stringify({ arn: stream.arn, after: after.toString() })).toString('base64url');
}

function parseIterator(iterator: unknown): { arn: string; after: bigint } | undefined {
  if (typeof iterator !== 'string') return undefined;
  try {
    const { arn, after } = JSON.parse(Buffer.from(iterator, 'base64url').toString());
    return typeof arn === 'string' && /^-?\d+$/.test(after) ? { arn, after: BigInt(after) } : undefined;
  } catch {
    return undefined;
  }
}

/** The index of the first record whose sequence number is above `after` (binary search). */
function firstAfter(records: readonly Kept[], after: bigint): number {
  let low = 0;
  let high = records.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((records[mid] as Kept).sequence > after) high = mid;
    else low = mid + 1;
  }
  return low;
}
