/**
 * The embedded data plane's DynamoDB: dynalite's request validation, expression parsers and
 * actions (pinned at 4.0.0, the semantics the suite has held against moto), on an in-memory
 * store of our own instead of its LevelDB.
 *
 * Why: dynalite 4 routes every get and put through LevelDB's thread pool, promises turned back
 * into callbacks with `setImmediate`, and streams fed one promise per value; with the HTTP
 * listener it was called through, that was a third of the local cloud's main thread under load.
 * Here each table and index is a sorted in-memory map whose callbacks run at once, and a call is
 * answered without an HTTP round: the edge hands the buffered request to `handle`.
 *
 * Durability: every call's writes (items and index entries together) go to an append-only
 * journal as one line, written before the call is answered: a `kill -9` loses no answered write
 * and never splits an item from its index entries (a torn last line is one unanswered call). The
 * journal is compacted to the live entries once it holds twice as many.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Stream } from 'node:stream';
import { keepDynaliteParses } from './dynalite-expressions.ts';
import { type BufferedRequest, jsonBody, type ServiceResponse } from './edge.ts';
import { flushSoon, LineFile } from './journal.ts';

const require = createRequire(import.meta.url);

type Callback<T = unknown> = (error?: Error | null, value?: T) => void;
type Action = (store: DynaliteStore, data: Record<string, unknown>, cb: Callback) => void;
interface ActionValidation {
  readonly types: unknown;
  readonly custom?: unknown;
}
interface Validations {
  toLowerFirst(name: string): string;
  checkTypes(data: unknown, types: unknown): Record<string, unknown>;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: unknown): void;
}
/** An error dynalite's validations and actions raise: an HTTP status and the body to answer. */
interface ServiceError extends Error {
  statusCode?: number;
  body?: unknown;
}

const operations = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'UpdateItem',
  'UpdateTable',
  'ListTagsOfResource',
  'TagResource',
  'UntagResource',
] as const;

/** Key range of a read, as LevelDB takes it (dynalite's actions build these from the request). */
interface RangeOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
}

/**
 * Emits a range's entries one by one after the caller has subscribed; stops when destroyed. A
 * (legacy) Stream, as dynalite's `lazy` wrapper takes a Stream's entries from the 'data' events
 * dynalite subscribes to itself (it would subscribe a second time to a plain EventEmitter).
 */
class RangeEmitter extends Stream {
  private destroyed = false;

  constructor(entries: () => readonly unknown[]) {
    super();
    process.nextTick(() => {
      for (const entry of entries()) {
        if (this.destroyed) return;
        this.emit('data', entry);
      }
      if (!this.destroyed) this.emit('end');
    });
  }

  destroy(): void {
    this.destroyed = true;
  }
}

/** Level's answer to a missing key; without a stack trace, which dynalite never reads (every
 * conditional put of a new item asks for one, and capturing the stack was most of its cost). */
function notFound(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = Object.assign(new Error('NotFoundError'), { name: 'NotFoundError' });
  Error.stackTraceLimit = limit;
  return error;
}

/**
 * One of dynalite's sub-databases (the tables' descriptions, a table's items, an index's
 * entries): a map for point reads and a sorted key list for ranges.
 */
class SubDb {
  readonly values = new Map<string, unknown>();
  private sorted: string[] = [];
  readonly lock: (key: string, exec: (release: (done: Callback) => Callback) => void) => void;

  constructor(
    readonly name: string,
    private readonly written: (name: string, key: string, value: unknown) => void,
  ) {
    this.lock = (require('lock') as { Lock(): SubDb['lock'] }).Lock();
  }

  // Callbacks run at once: an action (lock, read, condition, index writes, item write) then runs
  // to its end in one go, so its writes reach the journal together, never split by another
  // call's flush. A call waiting for a lock resumes in a later tick, and runs through then.
  get(key: string, cb: Callback): void {
    const value = this.values.get(key);
    if (value === undefined) cb(notFound());
    else cb(null, value);
  }

  put(key: string, value: unknown, cb?: Callback): void {
    this.set(key, value);
    this.written(this.name, key, value);
    cb?.(null);
  }

  del(key: string, cb?: Callback): void {
    this.set(key, undefined);
    this.written(this.name, key, undefined);
    cb?.(null);
  }

  batch(operations: readonly { type: 'put' | 'del'; key: string; value?: unknown }[], cb?: Callback): void {
    for (const op of operations) {
      if (op.type === 'put') this.put(op.key, op.value);
      else this.del(op.key);
    }
    cb?.(null);
  }

  /** Applies a put (value) or delete (undefined) to memory only: replay and the write paths. */
  set(key: string, value: unknown): void {
    const had = this.values.has(key);
    if (value === undefined) {
      if (!had) return;
      this.values.delete(key);
      this.sorted.splice(this.position(key), 1);
      return;
    }
    this.values.set(key, value);
    if (!had) this.sorted.splice(this.position(key), 0, key);
  }

  /** The index of the first key not below `key` (binary search). */
  private position(key: string): number {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.sorted[mid] as string) < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Keys within the range, in order (reversed if asked), at most `limit` (-1: all). */
  private keysIn(options: RangeOptions = {}): string[] {
    let start = 0;
    let end = this.sorted.length;
    if (options.gte !== undefined) start = this.position(options.gte);
    if (options.gt !== undefined) {
      start = this.position(options.gt);
      if (this.sorted[start] === options.gt) start++;
    }
    if (options.lt !== undefined) end = this.position(options.lt);
    if (options.lte !== undefined) {
      end = this.position(options.lte);
      if (this.sorted[end] === options.lte) end++;
    }
    // Only the `limit` keys read from the range's own end: a page of 20 from a partition of
    // 10,000 waiting jobs copies 20 keys, not the partition.
    const limit = options.limit ?? -1;
    if (limit >= 0) {
      if (options.reverse) start = Math.max(start, end - limit);
      else end = Math.min(end, start + limit);
    }
    const keys = start < end ? this.sorted.slice(start, end) : [];
    if (options.reverse) keys.reverse();
    return keys;
  }

  createValueStream(options?: RangeOptions): RangeEmitter {
    return new RangeEmitter(() => this.keysIn(options).map((k) => this.values.get(k)));
  }

  createReadStream(options?: RangeOptions): RangeEmitter {
    return this.createValueStream(options);
  }

  createKeyStream(options?: RangeOptions): RangeEmitter {
    return new RangeEmitter(() => this.keysIn(options));
  }

  clear(): void {
    for (const key of [...this.values.keys()]) this.del(key);
  }
}

/** The store object dynalite's actions are written against (its `db.create`'s shape). */
export interface DynaliteStore {
  readonly options: Record<string, number>;
  readonly tableDb: SubDb & { awsAccountId: string; awsRegion: string };
  getItemDb(name: string): SubDb;
  deleteItemDb(name: string, cb: Callback): void;
  getIndexDb(indexType: string, tableName: string, indexName: string): SubDb;
  deleteIndexDb(indexType: string, tableName: string, indexName: string, cb: Callback): void;
  getTagDb(name: string): SubDb;
  deleteTagDb(name: string, cb: Callback): void;
  getTable(name: string, checkStatus: boolean | Callback, cb?: Callback): void;
}

export interface DynamoTablesOptions {
  readonly region: string;
  readonly accountId: string;
  /** The journal; in memory only without one. */
  readonly file?: string;
}

export class DynamoTables {
  readonly store: DynaliteStore;
  private readonly subDbs = new Map<string, SubDb>();
  private readonly actions = new Map<string, { run: Action; validation: ActionValidation }>();
  private readonly validations: Validations;
  /** The current call's writes, as journal entries, until they are written. */
  private pending: string[] = [];
  private flushScheduled = false;
  private readonly out: LineFile | undefined;
  private journaled = 0;
  private replaying = false;
  /** Journals that hold what this call's writes caused (the streams' records), flushed first. */
  private readonly flushedWith: (() => void)[] = [];

  constructor(private readonly options: DynamoTablesOptions) {
    keepDynaliteParses();
    this.validations = require('dynalite/validations/index.js') as Validations;
    for (const operation of operations) {
      const name = this.validations.toLowerFirst(operation);
      this.actions.set(operation, {
        run: require(`dynalite/actions/${name}.js`) as Action,
        validation: require(`dynalite/validations/${name}.js`) as ActionValidation,
      });
    }
    this.store = this.makeStore();
    this.out = options.file ? new LineFile(options.file) : undefined;
    if (options.file) {
      mkdirSync(path.dirname(options.file), { recursive: true });
      const whole = this.replay(options.file);
      // Rewritten at start only after a torn write, or when it has grown past twice the live
      // entries (as after a flush): not the whole journal at every start.
      if (!whole || this.journaled > 2 * this.liveEntries() + 50_000) this.compact();
    }
  }

  /** Entries held in memory, over all tables and indexes. */
  private liveEntries(): number {
    let n = 0;
    for (const db of this.subDbs.values()) n += db.values.size;
    return n;
  }

  private subDb(name: string): SubDb {
    let db = this.subDbs.get(name);
    if (!db) {
      db = new SubDb(name, (sub, key, value) => this.written(sub, key, value));
      this.subDbs.set(name, db);
    }
    return db;
  }

  private written(sub: string, key: string, value: unknown): void {
    if (this.replaying || !this.options.file) return;
    this.pending.push(JSON.stringify(value === undefined ? [sub, key] : [sub, key, value]));
    // Writes outside a call (a table turning ACTIVE after its creation delay) are flushed soon.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      flushSoon(
        this.options.file,
        () => this.flushScheduled,
        () => this.flush(),
      );
    }
  }

  /**
   * Has `flush` write another journal's held lines before this one's: the streams' records of a
   * call reach the disk with its writes, before it is answered (in the order they always did).
   */
  flushWith(flush: () => void): void {
    this.flushedWith.push(flush);
  }

  /**
   * Writes what the calls so far wrote, as one journal line (one call's writes stay together). A
   * write that fails (a full disk) throws and keeps the writes for the next flush: a line is
   * replayed whole or not at all, so the next flush writes it whole again.
   */
  flush(): void {
    this.flushScheduled = false;
    for (const other of this.flushedWith) other();
    if (this.pending.length === 0 || !this.out) return;
    const entries = this.pending;
    this.pending = [];
    const { error } = this.out.append(`[${entries.join(',')}]\n`);
    if (error !== undefined) {
      this.pending = [...entries, ...this.pending];
      throw error;
    }
    this.journaled += entries.length;
    if (this.journaled > 2 * this.liveEntries() + 50_000) this.compact();
  }

  /** Applies the journal; false when it ends in a torn line (the next append must not follow it). */
  private replay(file: string): boolean {
    if (!existsSync(file)) return true;
    this.replaying = true;
    try {
      const text = readFileSync(file, 'utf8');
      for (const line of text.split('\n')) {
        if (!line) continue;
        let entries: [string, string, unknown?][];
        try {
          entries = JSON.parse(line);
        } catch {
          continue; // a torn last line: a call that was never answered
        }
        for (const [sub, key, value] of entries) this.subDb(sub).set(key, value);
        this.journaled += entries.length;
      }
      const whole = text.length === 0 || text.endsWith('\n');
      this.out?.endsMidLine(!whole);
      return whole;
    } finally {
      this.replaying = false;
    }
  }

  /** Rewrites the journal as the live entries, atomically. */
  private compact(): void {
    if (!this.out) return;
    const lines: string[] = [];
    for (const db of this.subDbs.values()) {
      let chunk: string[] = [];
      for (const [key, value] of db.values) {
        chunk.push(JSON.stringify([db.name, key, value]));
        if (chunk.length === 500) {
          lines.push(`[${chunk.join(',')}]\n`);
          chunk = [];
        }
      }
      if (chunk.length > 0) lines.push(`[${chunk.join(',')}]\n`);
    }
    this.out.replace(lines.join(''));
    this.journaled = this.liveEntries();
  }

  stop(): void {
    try {
      this.flush();
    } finally {
      this.out?.close();
    }
  }

  private makeStore(): DynaliteStore {
    const deleteSubDb = (name: string, cb: Callback) => {
      this.subDbs.get(name)?.clear();
      this.subDbs.delete(name);
      cb(null);
    };
    const tableDb = Object.assign(this.subDb('table'), {
      awsAccountId: this.options.accountId,
      awsRegion: this.options.region,
    });
    // As dynalite's: called with a callback only, it also hides tables being created or deleted
    // and leaves the table's name out of the message.
    const getTable = (name: string, checkStatus: boolean | Callback, callback?: Callback) => {
      const cb = (typeof checkStatus === 'function' ? checkStatus : callback) as Callback;
      const check = Boolean(checkStatus);
      const table = tableDb.values.get(name) as { TableStatus?: string } | undefined;
      const hidden = check && (table?.TableStatus === 'CREATING' || table?.TableStatus === 'DELETING');
      if (table && !hidden) return cb(null, table);
      cb(
        Object.assign(notFound(), {
          statusCode: 400,
          body: {
            __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
            message: `Requested resource not found${check ? '' : `: Table: ${name} not found`}`,
          },
        }),
      );
    };
    return {
      // As dynalite is started here: tables turn ACTIVE at once; its item size limit.
      options: {
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
        maxItemSizeKb: 400,
        maxItemSize: 409_600,
      },
      tableDb,
      getItemDb: (name) => this.subDb(`item-${name}`),
      deleteItemDb: (name, cb) => deleteSubDb(`item-${name}`, cb),
      getIndexDb: (type, table, index) => this.subDb(`index-${type.toLowerCase()}~${table}~${index}`),
      deleteIndexDb: (type, table, index, cb) =>
        deleteSubDb(`index-${type.toLowerCase()}~${table}~${index}`, cb),
      getTagDb: (name) => this.subDb(`tag-${name}`),
      deleteTagDb: (name, cb) => deleteSubDb(`tag-${name}`, cb),
      getTable,
    };
  }

  /** The DynamoDB JSON API (X-Amz-Target DynamoDB_20120810.*), as dynalite's HTTP handler answers it. */
  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const [api, operation = ''] = String(request.headers['x-amz-target'] ?? '').split('.');
    const action = this.actions.get(operation);
    if (api !== 'DynamoDB_20120810' || !action)
      return answer(400, { __type: 'com.amazon.coral.service#UnknownOperationException' });
    let data: Record<string, unknown>;
    try {
      data = jsonBody(request) as Record<string, unknown>;
    } catch {
      return answer(400, { __type: 'com.amazon.coral.service#SerializationException' });
    }
    try {
      data = this.validations.checkTypes(data, action.validation.types);
      this.validations.checkValidations(data, action.validation.types, action.validation.custom, this.store);
    } catch (error) {
      const failure = error as ServiceError;
      if (failure.statusCode) return answer(failure.statusCode, failure.body);
      throw error;
    }
    const result = await new Promise<{ error?: ServiceError; data?: unknown }>((resolve) =>
      action.run(this.store, data, (error, value) => resolve(error ? { error } : { data: value })),
    );
    // What this call wrote is on disk before it is answered.
    this.flush();
    if (result.error) {
      if (result.error.statusCode) return answer(result.error.statusCode, result.error.body);
      throw result.error;
    }
    return answer(200, result.data);
  };
}

function answer(status: number, body: unknown): ServiceResponse {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(body) };
}
