/**
 * SQS in process (the JSON protocol the AWS SDK v3 speaks), durable through a journal: the
 * queues and every message survive a restart of the local cloud, in flight or not. Standard
 * queues with what the factory and its tests use: delays, visibility timeouts, long polling,
 * batches, redrive to a dead-letter queue after maxReceiveCount receives, retention, purge and
 * the Approximate* counts. Receipt handles change on every receive and only the latest one
 * deletes, as on AWS. Served by the edge without another HTTP hop.
 */
import { createHash, randomUUID } from 'node:crypto';
import { type BufferedRequest, jsonBody, type ServiceResponse } from '../edge.ts';
import { Journal } from '../journal.ts';

type Json = Record<string, unknown>;

interface MessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

interface Message {
  readonly id: string;
  readonly body: string;
  readonly md5: string;
  readonly attributes?: Record<string, MessageAttribute>;
  readonly attributesMd5?: string;
  readonly sentAt: number;
  readonly seq: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receipt?: string;
  /** Bumped when visibleAt changes: heap entries of an older version are stale. */
  version: number;
  place: 'ready' | 'waiting';
}

type Entry =
  | { e: 'q'; n: string; a: Record<string, string>; c: number }
  | { e: 'dq'; n: string }
  | {
      e: 's';
      n: string;
      id: string;
      b: string;
      ma?: Record<string, MessageAttribute>;
      t: number;
      v: number;
      sq: number;
      rc?: number;
      f?: number;
      h?: string;
    }
  | { e: 'r'; n: string; id: string; v: number; rc: number; f: number; h: string }
  | { e: 'c'; n: string; id: string; v: number }
  | { e: 'd'; n: string; id: string }
  | { e: 'm'; n: string; to: string; id: string }
  | { e: 'p'; n: string };

class SqsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly queryCode = code,
    readonly status = 400,
  ) {
    super(message);
  }
}

const defaults: Record<string, string> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  MaximumMessageSize: '262144',
};

interface Due {
  readonly at: number;
  readonly id: string;
  readonly version: number;
}

/** A binary min-heap of (due time, message id, version). */
class DueHeap {
  private readonly items: Due[] = [];

  peek(): Due | undefined {
    return this.items[0];
  }

  push(item: Due): void {
    const a = this.items;
    let i = a.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = a[parent] as Due;
      if (above.at <= item.at) break;
      a[i] = above;
      i = parent;
    }
    a[i] = item;
  }

  pop(): Due | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= a.length) break;
      const right = left + 1;
      const child = right < a.length && (a[right] as Due).at < (a[left] as Due).at ? right : left;
      if ((a[child] as Due).at >= last.at) break;
      a[i] = a[child] as Due;
      i = child;
    }
    a[i] = last;
    return top;
  }
}

class Queue {
  readonly messages = new Map<string, Message>();
  /** Visible messages in send order (with stale entries skipped on the way out). */
  private ready: Message[] = [];
  private head = 0;
  readonly due = new DueHeap();
  readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  lastModified: number;

  constructor(
    readonly name: string,
    readonly arn: string,
    public attributes: Record<string, string>,
    readonly createdAt: number,
  ) {
    this.lastModified = createdAt;
  }

  attribute(name: string): number {
    return Number(this.attributes[name] ?? defaults[name]);
  }

  get maxReceiveCount(): { count: number; target: string } | undefined {
    const raw = this.attributes.RedrivePolicy;
    if (!raw) return undefined;
    const policy = JSON.parse(raw) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
    return { count: Number(policy.maxReceiveCount), target: policy.deadLetterTargetArn };
  }

  place(message: Message, now: number): void {
    message.version++;
    if (message.visibleAt <= now) {
      message.place = 'ready';
      this.ready.push(message);
      this.wake();
    } else {
      message.place = 'waiting';
      this.due.push({ at: message.visibleAt, id: message.id, version: message.version });
      this.arm();
    }
  }

  /** Moves messages whose time came from the heap to the ready list. */
  promote(now: number): void {
    for (let top = this.due.peek(); top && top.at <= now; top = this.due.peek()) {
      this.due.pop();
      const message = this.messages.get(top.id);
      if (!message || message.version !== top.version || message.place !== 'waiting') continue;
      message.place = 'ready';
      this.ready.push(message);
    }
  }

  /** The next visible message, or undefined. */
  nextReady(): Message | undefined {
    while (this.head < this.ready.length) {
      const message = this.ready[this.head++] as Message;
      if (this.messages.get(message.id) === message && message.place === 'ready') return message;
    }
    if (this.head > 1024) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    return undefined;
  }

  /** Wakes long polls when the earliest waiting message becomes visible. */
  private arm(): void {
    const top = this.due.peek();
    if (!top || this.waiters.size === 0 || top.at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = top.at;
    this.timer = setTimeout(
      () => {
        this.timerAt = Number.POSITIVE_INFINITY;
        this.wake();
        this.arm();
      },
      Math.max(0, top.at - Date.now()),
    );
    this.timer.unref();
  }

  wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  waitFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        this.waiters.delete(done);
        resolve();
      };
      const timeout = setTimeout(done, ms);
      timeout.unref();
      this.waiters.add(done);
      this.arm();
    });
  }

  stop(): void {
    clearTimeout(this.timer);
    this.wake();
  }
}

const md5 = (data: string | Buffer) => createHash('md5').update(data).digest('hex');

/** MD5OfMessageAttributes as AWS computes it (the SDK checks it). */
function attributesMd5(attributes: Record<string, MessageAttribute>): string {
  const parts: Buffer[] = [];
  const lengthPrefixed = (value: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(value.length);
    parts.push(length, value);
  };
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name] as MessageAttribute;
    lengthPrefixed(Buffer.from(name));
    lengthPrefixed(Buffer.from(attribute.DataType));
    if (attribute.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(attribute.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(attribute.StringValue ?? ''));
    }
  }
  return md5(Buffer.concat(parts));
}

export class QueueService {
  private readonly queues = new Map<string, Queue>();
  private readonly journal: Journal<Entry>;
  private seq = 0;

  /**
   * @param baseUrl where queue URLs point (the edge), read when a URL is handed out
   * @param file the journal; without one the queues live in memory only
   */
  constructor(
    private readonly baseUrl: () => string,
    private readonly identity: { region: string; accountId: string },
    file?: string,
  ) {
    this.journal = new Journal<Entry>(file, { deferred: true });
    this.replay();
  }

  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const action = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    try {
      const body = request.body.length ? (jsonBody(request) as Json) : {};
      const result = await this.dispatch(action, body);
      // What the call changed is on disk before it is answered (one write for a batch's messages).
      this.journal.flush();
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0' },
        body: JSON.stringify(result),
      };
    } catch (error) {
      const e =
        error instanceof SqsError
          ? error
          : new SqsError('InternalError', (error as Error).message, 'InternalError', 500);
      try {
        this.journal.flush();
      } catch {
        // The journal's write failed again (a full disk): its lines stay held for the next call.
      }
      return {
        status: e.status,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-query-error': `${e.queryCode};${e.status >= 500 ? 'Receiver' : 'Sender'}`,
        },
        body: JSON.stringify({ __type: `com.amazonaws.sqs#${e.code}`, message: e.message }),
      };
    }
  };

  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) queue.stop();
    this.journal.close();
  }

  private stopped = false;

  private urlOf(name: string): string {
    return `${this.baseUrl()}/${this.identity.accountId}/${name}`;
  }

  private queueOf(body: Json): Queue {
    const url = String(body.QueueUrl ?? '');
    const name = url.split('/').filter(Boolean).pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue)
      throw new SqsError(
        'QueueDoesNotExist',
        'The specified queue does not exist.',
        'AWS.SimpleQueueService.NonExistentQueue',
      );
    return queue;
  }

  private dispatch(action: string, body: Json): unknown {
    switch (action) {
      case 'CreateQueue':
        return this.createQueue(body);
      case 'GetQueueUrl': {
        const name = String(body.QueueName ?? '');
        if (!this.queues.has(name))
          throw new SqsError(
            'QueueDoesNotExist',
            'The specified queue does not exist.',
            'AWS.SimpleQueueService.NonExistentQueue',
          );
        return { QueueUrl: this.urlOf(name) };
      }
      case 'ListQueues': {
        const prefix = String(body.QueueNamePrefix ?? '');
        const names = [...this.queues.keys()].filter((n) => n.startsWith(prefix)).sort();
        return { QueueUrls: names.slice(0, Number(body.MaxResults ?? 1000)).map((n) => this.urlOf(n)) };
      }
      case 'DeleteQueue': {
        const queue = this.queueOf(body);
        queue.stop();
        this.queues.delete(queue.name);
        this.journal.append({ e: 'dq', n: queue.name });
        return {};
      }
      case 'GetQueueAttributes':
        return {
          Attributes: this.attributesOf(this.queueOf(body), body.AttributeNames as string[] | undefined),
        };
      case 'SetQueueAttributes': {
        const queue = this.queueOf(body);
        queue.attributes = { ...queue.attributes, ...(body.Attributes as Record<string, string>) };
        queue.lastModified = Date.now();
        this.journal.append({ e: 'q', n: queue.name, a: queue.attributes, c: queue.createdAt });
        return {};
      }
      case 'PurgeQueue': {
        const queue = this.queueOf(body);
        queue.messages.clear();
        this.journal.append({ e: 'p', n: queue.name });
        return {};
      }
      case 'SendMessage':
        return this.send(this.queueOf(body), body);
      case 'SendMessageBatch':
        return this.batch(body, (queue, entry) => this.send(queue, entry));
      case 'ReceiveMessage':
        return this.receive(this.queueOf(body), body);
      case 'DeleteMessage':
        this.delete(this.queueOf(body), String(body.ReceiptHandle ?? ''));
        return {};
      case 'DeleteMessageBatch':
        return this.batch(body, (queue, entry) => {
          this.delete(queue, String(entry.ReceiptHandle ?? ''));
          return {};
        });
      case 'ChangeMessageVisibility':
        this.changeVisibility(
          this.queueOf(body),
          String(body.ReceiptHandle ?? ''),
          Number(body.VisibilityTimeout),
        );
        return {};
      case 'ChangeMessageVisibilityBatch':
        return this.batch(body, (queue, entry) => {
          this.changeVisibility(queue, String(entry.ReceiptHandle ?? ''), Number(entry.VisibilityTimeout));
          return {};
        });
      case 'TagQueue':
      case 'UntagQueue':
        this.queueOf(body);
        return {};
      case 'ListQueueTags':
        this.queueOf(body);
        return { Tags: {} };
      default:
        throw new SqsError('UnsupportedOperation', `The local SQS does not implement ${action}`);
    }
  }

  private createQueue(body: Json) {
    const name = String(body.QueueName ?? '');
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new SqsError('InvalidParameterValue', `Invalid queue name "${name}"`);
    const attributes = { ...((body.Attributes as Record<string, string> | undefined) ?? {}) };
    const existing = this.queues.get(name);
    if (existing) {
      // Re-provisioning after a restart: the queue and its messages stay; attributes follow the template.
      existing.attributes = { ...existing.attributes, ...attributes };
      this.journal.append({ e: 'q', n: name, a: existing.attributes, c: existing.createdAt });
      return { QueueUrl: this.urlOf(name) };
    }
    const createdAt = Date.now();
    this.addQueue(name, attributes, createdAt);
    this.journal.append({ e: 'q', n: name, a: attributes, c: createdAt });
    return { QueueUrl: this.urlOf(name) };
  }

  private addQueue(name: string, attributes: Record<string, string>, createdAt: number): Queue {
    const arn = `arn:aws:sqs:${this.identity.region}:${this.identity.accountId}:${name}`;
    const queue = new Queue(name, arn, attributes, createdAt);
    this.queues.set(name, queue);
    return queue;
  }

  private attributesOf(queue: Queue, names: string[] = ['All']) {
    const now = Date.now();
    queue.promote(now);
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of queue.messages.values()) {
      if (message.visibleAt <= now) visible++;
      else if (message.receiveCount > 0) inFlight++;
      else delayed++;
    }
    const all: Record<string, string> = {
      ...defaults,
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: String(delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.lastModified / 1000)),
      SqsManagedSseEnabled: queue.attributes.SqsManagedSseEnabled ?? 'true',
    };
    if (names.includes('All')) return all;
    return Object.fromEntries(names.filter((n) => all[n] !== undefined).map((n) => [n, all[n] as string]));
  }

  private send(queue: Queue, entry: Json) {
    const body = String(entry.MessageBody ?? '');
    if (body.length === 0)
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (Buffer.byteLength(body) > queue.attribute('MaximumMessageSize'))
      throw new SqsError('InvalidParameterValue', 'The message is longer than the queue allows.');
    const delay =
      entry.DelaySeconds === undefined ? queue.attribute('DelaySeconds') : Number(entry.DelaySeconds);
    if (!Number.isInteger(delay) || delay < 0 || delay > 900)
      throw new SqsError('InvalidParameterValue', 'DelaySeconds must be between 0 and 900.');
    const attributes = entry.MessageAttributes as Record<string, MessageAttribute> | undefined;
    const now = Date.now();
    const message = this.addMessage(queue, {
      id: randomUUID(),
      body,
      attributes: attributes && Object.keys(attributes).length > 0 ? attributes : undefined,
      sentAt: now,
      visibleAt: now + delay * 1000,
      seq: ++this.seq,
    });
    this.journal.append({
      e: 's',
      n: queue.name,
      id: message.id,
      b: body,
      ...(message.attributes ? { ma: message.attributes } : {}),
      t: now,
      v: message.visibleAt,
      sq: message.seq,
    });
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5,
      ...(message.attributesMd5 ? { MD5OfMessageAttributes: message.attributesMd5 } : {}),
    };
  }

  private addMessage(
    queue: Queue,
    m: {
      id: string;
      body: string;
      attributes?: Record<string, MessageAttribute>;
      sentAt: number;
      visibleAt: number;
      seq: number;
    },
  ): Message {
    const message: Message = {
      ...m,
      md5: md5(m.body),
      ...(m.attributes ? { attributesMd5: attributesMd5(m.attributes) } : {}),
      receiveCount: 0,
      version: 0,
      place: 'waiting',
    };
    queue.messages.set(message.id, message);
    queue.place(message, Date.now());
    return message;
  }

  private batch(body: Json, each: (queue: Queue, entry: Json) => Json) {
    const queue = this.queueOf(body);
    const entries = (body.Entries as Json[] | undefined) ?? [];
    if (entries.length === 0)
      throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (entries.length > 10)
      throw new SqsError('TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
    if (new Set(entries.map((e) => e.Id)).size !== entries.length)
      throw new SqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries have the same Id.');
    const successful: Json[] = [];
    const failed: Json[] = [];
    for (const entry of entries) {
      try {
        successful.push({ Id: entry.Id, ...each(queue, entry) });
      } catch (error) {
        const e = error instanceof SqsError ? error : new SqsError('InternalError', String(error));
        failed.push({ Id: entry.Id, SenderFault: e.status < 500, Code: e.code, Message: e.message });
      }
    }
    return { Successful: successful, Failed: failed };
  }

  private async receive(queue: Queue, body: Json) {
    const max = Number(body.MaxNumberOfMessages ?? 1);
    if (!Number.isInteger(max) || max < 1 || max > 10)
      throw new SqsError('InvalidParameterValue', 'MaxNumberOfMessages must be between 1 and 10.');
    const wait =
      body.WaitTimeSeconds === undefined
        ? queue.attribute('ReceiveMessageWaitTimeSeconds')
        : Number(body.WaitTimeSeconds);
    const visibility =
      body.VisibilityTimeout === undefined
        ? queue.attribute('VisibilityTimeout')
        : Number(body.VisibilityTimeout);
    const wanted = new Set([
      ...((body.AttributeNames as string[] | undefined) ?? []),
      ...((body.MessageSystemAttributeNames as string[] | undefined) ?? []),
    ]);
    const wantedAttributes = new Set((body.MessageAttributeNames as string[] | undefined) ?? []);
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const taken = this.take(queue, max, visibility);
      if (taken.length > 0 || Date.now() >= deadline || this.stopped || !this.queues.has(queue.name)) {
        return { Messages: taken.map((m) => this.view(m, wanted, wantedAttributes)) };
      }
      await queue.waitFor(deadline - Date.now());
    }
  }

  private take(queue: Queue, max: number, visibilitySeconds: number): Message[] {
    const now = Date.now();
    const retentionMs = queue.attribute('MessageRetentionPeriod') * 1000;
    const redrive = queue.maxReceiveCount;
    queue.promote(now);
    const taken: Message[] = [];
    while (taken.length < max) {
      const message = queue.nextReady();
      if (!message) break;
      if (now - message.sentAt > retentionMs) {
        queue.messages.delete(message.id);
        this.journal.append({ e: 'd', n: queue.name, id: message.id });
        continue;
      }
      if (redrive && message.receiveCount >= redrive.count) {
        const target = [...this.queues.values()].find((q) => q.arn === redrive.target);
        queue.messages.delete(message.id);
        this.journal.append({ e: 'm', n: queue.name, to: target?.name ?? '', id: message.id });
        if (target) this.addMessage(target, { ...message, visibleAt: now, seq: ++this.seq });
        continue;
      }
      message.receiveCount++;
      message.firstReceiveAt ??= now;
      message.receipt = Buffer.from(`${queue.name}\u0000${message.id}\u0000${randomUUID()}`).toString(
        'base64url',
      );
      message.visibleAt = now + visibilitySeconds * 1000;
      queue.place(message, now);
      this.journal.append({
        e: 'r',
        n: queue.name,
        id: message.id,
        v: message.visibleAt,
        rc: message.receiveCount,
        f: message.firstReceiveAt,
        h: message.receipt,
      });
      taken.push(message);
    }
    this.compactIfLong();
    return taken;
  }

  private view(message: Message, wanted: Set<string>, wantedAttributes: Set<string>) {
    const system: Record<string, string> = {
      SenderId: this.identity.accountId,
      SentTimestamp: String(message.sentAt),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt ?? message.sentAt),
    };
    const attributes = wanted.has('All')
      ? system
      : Object.fromEntries(Object.entries(system).filter(([k]) => wanted.has(k)));
    const messageAttributes =
      message.attributes && wantedAttributes.size > 0
        ? Object.fromEntries(
            Object.entries(message.attributes).filter(
              ([k]) => wantedAttributes.has('All') || wantedAttributes.has(k),
            ),
          )
        : undefined;
    return {
      MessageId: message.id,
      ReceiptHandle: message.receipt,
      MD5OfBody: message.md5,
      Body: message.body,
      ...(Object.keys(attributes).length ? { Attributes: attributes } : {}),
      ...(messageAttributes && Object.keys(messageAttributes).length
        ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: attributesMd5(messageAttributes) }
        : {}),
    };
  }

  /** The message a receipt handle names, if it is this queue's; throws on a handle that is not one. */
  private byReceipt(queue: Queue, handle: string): Message | undefined {
    const [name, id] = Buffer.from(handle, 'base64url').toString().split('\u0000');
    if (!name || !id || name !== queue.name)
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${handle}" is not a valid receipt handle.`,
      );
    const message = queue.messages.get(id);
    // An older receipt of a message received again since: accepted, and it changes nothing.
    return message?.receipt === handle ? message : undefined;
  }

  private delete(queue: Queue, handle: string): void {
    const message = this.byReceipt(queue, handle);
    if (!message) return;
    queue.messages.delete(message.id);
    this.journal.append({ e: 'd', n: queue.name, id: message.id });
  }

  private changeVisibility(queue: Queue, handle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200)
      throw new SqsError('InvalidParameterValue', 'VisibilityTimeout must be between 0 and 43200.');
    const message = this.byReceipt(queue, handle);
    const now = Date.now();
    if (!message || message.visibleAt <= now)
      throw new SqsError(
        'MessageNotInflight',
        'The message referred to is not in flight.',
        'AWS.SimpleQueueService.MessageNotInflight',
      );
    message.visibleAt = now + seconds * 1000;
    queue.place(message, now);
    this.journal.append({ e: 'c', n: queue.name, id: message.id, v: message.visibleAt });
  }

  private replay(): void {
    const entries = this.journal.load();
    if (entries.length === 0) return;
    const now = Date.now();
    for (const entry of entries) {
      const queue = this.queues.get(entry.n);
      switch (entry.e) {
        case 'q':
          if (queue) queue.attributes = entry.a;
          else this.addQueue(entry.n, entry.a, entry.c);
          break;
        case 'dq':
          this.queues.delete(entry.n);
          break;
        case 's': {
          if (!queue) break;
          queue.messages.set(entry.id, {
            id: entry.id,
            body: entry.b,
            md5: md5(entry.b),
            ...(entry.ma ? { attributes: entry.ma, attributesMd5: attributesMd5(entry.ma) } : {}),
            sentAt: entry.t,
            seq: entry.sq,
            visibleAt: entry.v,
            receiveCount: entry.rc ?? 0,
            ...(entry.f ? { firstReceiveAt: entry.f } : {}),
            ...(entry.h ? { receipt: entry.h } : {}),
            version: 0,
            place: 'waiting',
          });
          this.seq = Math.max(this.seq, entry.sq);
          break;
        }
        case 'r': {
          const message = queue?.messages.get(entry.id);
          if (!message) break;
          message.visibleAt = entry.v;
          message.receiveCount = entry.rc;
          message.firstReceiveAt = entry.f;
          message.receipt = entry.h;
          break;
        }
        case 'c': {
          const message = queue?.messages.get(entry.id);
          if (message) message.visibleAt = entry.v;
          break;
        }
        case 'd':
          queue?.messages.delete(entry.id);
          break;
        case 'm': {
          const message = queue?.messages.get(entry.id);
          queue?.messages.delete(entry.id);
          const target = this.queues.get(entry.to);
          if (message && target)
            target.messages.set(message.id, { ...message, receiveCount: 0, visibleAt: now });
          break;
        }
        case 'p':
          queue?.messages.clear();
          break;
      }
    }
    for (const queue of this.queues.values()) {
      const messages = [...queue.messages.values()].sort((a, b) => a.seq - b.seq);
      for (const message of messages) {
        // In flight when the local cloud stopped: the invocation that held it died with the
        // process, so nobody works on it; it is visible again now, not after its timeout.
        if (message.receiveCount > 0 && message.visibleAt > now) message.visibleAt = now;
        queue.place(message, now);
      }
    }
    this.compact();
  }

  private compactIfLong(): void {
    let live = 0;
    for (const queue of this.queues.values()) live += queue.messages.size;
    if (this.journal.length > 50_000 && this.journal.length > 4 * (live + this.queues.size)) this.compact();
  }

  /** Rewrites the journal as the live state: the queues, then each message as it is now. */
  private compact(): void {
    if (!this.journal.durable) return;
    const entries: Entry[] = [];
    for (const queue of this.queues.values()) {
      entries.push({ e: 'q', n: queue.name, a: queue.attributes, c: queue.createdAt });
    }
    for (const queue of this.queues.values()) {
      for (const m of queue.messages.values()) {
        entries.push({
          e: 's',
          n: queue.name,
          id: m.id,
          b: m.body,
          ...(m.attributes ? { ma: m.attributes } : {}),
          t: m.sentAt,
          v: m.visibleAt,
          sq: m.seq,
          ...(m.receiveCount ? { rc: m.receiveCount } : {}),
          ...(m.firstReceiveAt ? { f: m.firstReceiveAt } : {}),
          ...(m.receipt ? { h: m.receipt } : {}),
        });
      }
    }
    this.journal.rewrite(entries);
  }
}
