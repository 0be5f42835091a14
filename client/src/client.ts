/**
 * FactoryClient: a small typed client of the factory's HTTP API. Retries 429 and 5xx answers
 * with exponential backoff and full jitter (honouring Retry-After), chunks bulk submissions into
 * POST /jobs/bulk calls of at most 500 jobs, and waits for jobs and orders over the WebSocket
 * push when it can, by polling otherwise.
 */
import { FactoryApiError, FactoryConnectionError, FactoryTimeoutError } from './errors.ts';
import {
  defaultSocketFactory,
  openSubscription,
  type SocketFactory,
  type Subscription,
  type SubscriptionFilters,
} from './realtime.ts';
import {
  type AcceptedJob,
  type AcceptedOrder,
  type ApiKeyView,
  type BulkAccepted,
  type CancelledJob,
  type CancelledOrder,
  type DeadJobFilter,
  type DlqRetryRequest,
  type DlqRetryResult,
  type FactoryEvent,
  finishedJobStatuses,
  finishedOrderStatuses,
  type IssuedApiKey,
  type Job,
  type JobLogs,
  type JobPage,
  type JobSubmission,
  type ListJobsQuery,
  type OrderPage,
  type OrderRequest,
  type OrderStatusView,
  type QueueInfo,
  type QueueStats,
  type RealtimeTicket,
  type ResumedOrder,
  type RetriedJob,
  type RevokedApiKey,
  type Role,
  type ScaleRequest,
  type ScalingEvent,
  type WorkersStatus,
} from './types.ts';

/** POST /jobs/bulk takes at most this many jobs (functions/domain/job-submission.ts, maxBulkJobs). */
export const maxBulkJobs = 500;
/** POST /jobs/bulk calls submitJobs makes at once, by default and at most. */
export const defaultBulkParallel = 4;
export const maxBulkParallel = 16;

export interface FactoryClientOptions {
  /** The API's base URL, e.g. http://localhost:3000 or the stack's ApiUrl. */
  url: string;
  /** An API key (`rfk_…`). */
  key: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Retries after the first attempt for 429 and 5xx answers (default 3). */
  retries?: number;
  /** Backoff: the first retry waits up to baseDelayMs, doubling up to maxDelayMs (full jitter). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is cut to it (default 60 s). */
  maxRetryAfterMs?: number;
  /** How waits wait; tests pass one that returns at once. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter (default Math.random). */
  random?: () => number;
  /** Opens WebSockets for waits and watches; `false` always polls. Default: WebSocket or `ws`. */
  webSocket?: SocketFactory | false;
  /** Polling interval of waits without a socket (default 1000 ms). */
  pollIntervalMs?: number;
  /** With a socket, the job or order is still read this often in case a frame was lost (default 5000 ms). */
  recheckIntervalMs?: number;
  /** A clock for timeouts (default Date.now). */
  now?: () => number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SubmitJobsOptions {
  /** Jobs per POST /jobs/bulk call (1–500, default 500). */
  chunkSize?: number;
  /**
   * Makes the whole submission retryable: chunk n is sent with the Idempotency-Key `<key>-<n>`,
   * so submitting the same jobs with the same key again stores nothing twice. Default: a random key.
   */
  idempotencyKey?: string;
  /**
   * POST /jobs/bulk calls under way at once (1–16, default 4): a bulk call spends most of its time
   * in the API's writes, so a few at once submit several times faster than one after another.
   */
  parallel?: number;
  /** After each chunk: jobs submitted so far, and in all. */
  onProgress?: (submitted: number, total: number) => void;
  signal?: AbortSignal;
}

export interface WaitOptions<T> {
  /** Give up (FactoryTimeoutError) after this long; default: wait as long as it takes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Every read of the job or order while waiting (the first one too). */
  onUpdate?: (current: T) => void;
  /** Every pushed event (only when the WebSocket is used). */
  onEvent?: (event: FactoryEvent) => void;
  /** `false` polls even when a WebSocket could be opened. */
  realtime?: boolean;
  /** Called once it is known whether the wait goes over the socket or polls. */
  onMode?: (mode: 'realtime' | 'polling', reason?: string) => void;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FactoryClient {
  readonly url: string;
  private readonly key: string;
  private readonly fetchImpl: typeof fetch;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly sockets: SocketFactory | undefined;
  private readonly pollIntervalMs: number;
  private readonly recheckIntervalMs: number;
  private readonly now: () => number;

  constructor(options: FactoryClientOptions) {
    if (!options.url) throw new TypeError('FactoryClient needs the API url');
    if (!options.key) throw new TypeError('FactoryClient needs an API key');
    this.url = options.url.replace(/\/+$/, '');
    this.key = options.key;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.retries = Math.max(0, options.retries ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 8000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.sockets = options.webSocket === false ? undefined : (options.webSocket ?? defaultSocketFactory);
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.recheckIntervalMs = options.recheckIntervalMs ?? 5000;
    this.now = options.now ?? Date.now;
  }

  // ── Jobs ────────────────────────────────────────────────────────────────────────────────

  /**
   * POST /jobs. Sent with an Idempotency-Key header (a random one unless `idempotencyKey` is
   * given), so a retried 5xx never stores the job twice.
   */
  submitJob(job: JobSubmission, options: { idempotencyKey?: string; signal?: AbortSignal } = {}) {
    return this.request<AcceptedJob>('POST', '/jobs', {
      body: job,
      headers: { 'idempotency-key': options.idempotencyKey ?? randomKey() },
      signal: options.signal,
    });
  }

  /**
   * Any number of jobs, in POST /jobs/bulk calls of at most 500, `parallel` of them under way at
   * once. Each call is all-or-nothing; after a failure no further chunk is sent and the calls under
   * way are awaited, so some chunks may be stored (run it again with the same `idempotencyKey` to
   * finish without duplicates). The answer lists the jobs in the order they were given. `ref`s
   * can only be named by jobs of the same chunk.
   */
  async submitJobs(jobs: readonly JobSubmission[], options: SubmitJobsOptions = {}): Promise<BulkAccepted> {
    const size = options.chunkSize ?? maxBulkJobs;
    if (!Number.isInteger(size) || size < 1 || size > maxBulkJobs)
      throw new RangeError(`chunkSize must be an integer from 1 to ${maxBulkJobs}`);
    const parallel = options.parallel ?? defaultBulkParallel;
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > maxBulkParallel)
      throw new RangeError(`parallel must be an integer from 1 to ${maxBulkParallel}`);
    const chunks = chunk(jobs, size);
    checkRefsWithinChunks(chunks);
    const base = options.idempotencyKey ?? randomKey();
    const answers: BulkAccepted[] = [];
    let submitted = 0;
    let next = 0;
    let failure: { error: unknown } | undefined;
    const sender = async () => {
      while (next < chunks.length && !failure) {
        const n = next++;
        try {
          const answer = await this.request<BulkAccepted>('POST', '/jobs/bulk', {
            body: { jobs: chunks[n] },
            headers: { 'idempotency-key': `${base}-${n}` },
            signal: options.signal,
          });
          answers[n] = answer;
          submitted += answer.jobs.length;
          options.onProgress?.(submitted, jobs.length);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, chunks.length) }, sender));
    if (failure) throw failure.error;
    return {
      accepted: answers.reduce((sum, a) => sum + a.accepted, 0),
      duplicates: answers.reduce((sum, a) => sum + a.duplicates, 0),
      jobs: answers.flatMap((a) => a.jobs),
    };
  }

  getJob(jobId: string, signal?: AbortSignal) {
    return this.request<Job>('GET', `/jobs/${encodeURIComponent(jobId)}`, { signal });
  }

  listJobs(query: ListJobsQuery = {}) {
    return this.request<JobPage>('GET', '/jobs', { query: { ...query } });
  }

  /** Every job matching the query, page by page. */
  async *allJobs(query: Omit<ListJobsQuery, 'cursor'> = {}): AsyncGenerator<Job> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({ ...query, ...(cursor ? { cursor } : {}) });
      yield* page.jobs;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  cancelJob(jobId: string) {
    return this.request<CancelledJob>('DELETE', `/jobs/${encodeURIComponent(jobId)}`);
  }

  retryJob(jobId: string) {
    return this.request<RetriedJob>('POST', `/jobs/${encodeURIComponent(jobId)}/retry`);
  }

  jobLogs(jobId: string) {
    return this.request<JobLogs>('GET', `/jobs/${encodeURIComponent(jobId)}/logs`);
  }

  /** Resolves with the job once it is COMPLETED, DEAD or CANCELLED (whichever it ends as). */
  waitForJob(jobId: string, options: WaitOptions<Job> = {}): Promise<Job> {
    return this.waitUntil(
      { jobId },
      async (signal) => {
        const job = await this.getJob(jobId, signal);
        options.onUpdate?.(job);
        return finishedJobStatuses.includes(job.status) ? job : undefined;
      },
      options,
    );
  }

  // ── Orders ──────────────────────────────────────────────────────────────────────────────

  createOrder(order: OrderRequest) {
    return this.request<AcceptedOrder>('POST', '/orders', { body: order });
  }

  orderStatus(orderId: string, signal?: AbortSignal) {
    return this.request<OrderStatusView>('GET', `/orders/${encodeURIComponent(orderId)}/status`, { signal });
  }

  listOrders(
    query: { status?: string; robotType?: string; customerId?: string; limit?: number; cursor?: string } = {},
  ) {
    return this.request<OrderPage>('GET', '/orders', { query: { ...query } });
  }

  cancelOrder(orderId: string, reason?: string) {
    return this.request<CancelledOrder>('DELETE', `/orders/${encodeURIComponent(orderId)}`, {
      query: { reason },
    });
  }

  retryOrder(orderId: string) {
    return this.request<ResumedOrder>('POST', `/orders/${encodeURIComponent(orderId)}/retry`);
  }

  /**
   * Follows an order until it is COMPLETED, FAILED or CANCELLED: `onUpdate` gets its status
   * view (every step) after each pushed event of the order or its steps, or each poll.
   */
  watchOrder(orderId: string, options: WaitOptions<OrderStatusView> = {}): Promise<OrderStatusView> {
    return this.waitUntil(
      { orderId },
      async (signal) => {
        const view = await this.orderStatus(orderId, signal);
        options.onUpdate?.(view);
        return finishedOrderStatuses.includes(view.status) ? view : undefined;
      },
      options,
    );
  }

  // ── Dead-letter queue ───────────────────────────────────────────────────────────────────

  listDeadJobs(query: DeadJobFilter & { limit?: number; cursor?: string } = {}) {
    return this.request<JobPage>('GET', '/dlq', { query: { ...query } });
  }

  retryDeadJobs(selection: DlqRetryRequest) {
    return this.request<DlqRetryResult>('POST', '/dlq/retry', { body: selection });
  }

  /** GET /dlq/export: the dead jobs as CSV text. */
  exportDeadJobs(filter: DeadJobFilter = {}) {
    return this.request<string>('GET', '/dlq/export', { query: { ...filter } });
  }

  discardDeadJob(jobId: string) {
    return this.request<Job>('DELETE', `/dlq/${encodeURIComponent(jobId)}`);
  }

  // ── Queues, workers, keys ───────────────────────────────────────────────────────────────

  queues() {
    return this.request<QueueInfo[]>('GET', '/queues');
  }

  /** A queue's live counts by state (GET /jobs/stats). */
  queueStats(queue: string, signal?: AbortSignal) {
    return this.request<QueueStats>('GET', '/jobs/stats', {
      query: { queue },
      ...(signal ? { signal } : {}),
    });
  }

  workersStatus(queue?: string) {
    return this.request<WorkersStatus>('GET', '/workers/status', { query: { queue } });
  }

  scaleWorkers(request: ScaleRequest) {
    return this.request<ScalingEvent>('POST', '/workers/scale', { body: request });
  }

  createKey(request: { name: string; role: Role }) {
    return this.request<IssuedApiKey>('POST', '/api-keys', { body: request });
  }

  async listKeys(): Promise<ApiKeyView[]> {
    return (await this.request<{ keys: ApiKeyView[] }>('GET', '/api-keys')).keys;
  }

  revokeKey(keyId: string) {
    return this.request<RevokedApiKey>('DELETE', `/api-keys/${encodeURIComponent(keyId)}`);
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────

  realtimeTicket() {
    return this.request<RealtimeTicket>('POST', '/realtime/tickets');
  }

  /** A subscribed socket; `onEvent` gets each matching event. Close it when done. */
  async subscribe(
    filters: SubscriptionFilters,
    onEvent?: (event: FactoryEvent) => void,
  ): Promise<Subscription> {
    if (!this.sockets) throw new Error('No WebSocket implementation (pass webSocket, or install ws)');
    return openSubscription(await this.realtimeTicket(), filters, this.sockets, onEvent);
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────────────────

  /**
   * One API call, with retries: 429 and 503 always (the request was not processed), other 5xx
   * and network errors only for requests that are safe to repeat (GET, DELETE, or carrying an
   * Idempotency-Key), and a 409 with Retry-After for those (an earlier call with the same key is
   * still being stored). Answers JSON as parsed JSON, other content types as text.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.urlOf(path, options.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.key}`,
      accept: 'application/json, text/csv;q=0.9, */*;q=0.1',
      ...options.headers,
    };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const repeatable = method === 'GET' || method === 'DELETE' || 'idempotency-key' in headers;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (repeatable && attempt < this.retries) {
          await this.sleep(this.backoffMs(attempt));
          continue;
        }
        throw new FactoryConnectionError(this.url, error);
      }
      const status = response.status;
      // A 409 with Retry-After: the same Idempotency-Key is still being stored by an earlier call.
      const inProgress = status === 409 && repeatable && response.headers.has('retry-after');
      const retryable = status === 429 || status === 503 || (status >= 500 && repeatable) || inProgress;
      if (retryable && attempt < this.retries) {
        await response.body?.cancel().catch(() => {});
        await this.sleep(this.retryAfterMs(response) ?? this.backoffMs(attempt));
        continue;
      }
      const body = await readBody(response);
      if (!response.ok) throw new FactoryApiError(status, body, method, path);
      return body as T;
    }
  }

  /** Full jitter: uniform in [0, min(max, base·2^attempt)]. */
  private backoffMs(attempt: number): number {
    return Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt));
  }

  private retryAfterMs(response: Response): number | undefined {
    const value = response.headers.get('retry-after');
    if (!value) return undefined;
    const seconds = Number(value);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - this.now();
    if (!Number.isFinite(ms)) return undefined;
    return Math.min(this.maxRetryAfterMs, Math.max(0, ms));
  }

  private urlOf(path: string, query: RequestOptions['query']): string {
    const url = new URL(`${this.url}${path}`);
    for (const [name, value] of Object.entries(query ?? {}))
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    return url.toString();
  }

  /**
   * Calls `check` until it returns a value: over a subscribed socket each pushed event (and every
   * recheckIntervalMs, in case a frame was lost) triggers a check; without one, every
   * pollIntervalMs. A socket that cannot be opened or drops falls back to polling.
   */
  private async waitUntil<T, U>(
    filters: SubscriptionFilters,
    check: (signal?: AbortSignal) => Promise<T | undefined>,
    options: WaitOptions<U>,
  ): Promise<T> {
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : this.now() + options.timeoutMs;
    let subscription: Subscription | undefined;
    if (options.realtime !== false && this.sockets) {
      try {
        subscription = await this.subscribe(filters, options.onEvent);
        options.onMode?.('realtime');
      } catch (error) {
        if (error instanceof FactoryApiError && error.status === 401) throw error;
        options.onMode?.('polling', (error as Error).message);
      }
    } else options.onMode?.('polling', options.realtime === false ? 'asked to poll' : 'no WebSocket');
    try {
      for (;;) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('Aborted');
        const done = await check(options.signal);
        if (done !== undefined) return done;
        const left = deadline - this.now();
        if (left <= 0) throw new FactoryTimeoutError(`Still not finished after ${options.timeoutMs} ms`);
        if (subscription?.isOpen) {
          await subscription.nextEvent(this.sleep(Math.min(left, this.recheckIntervalMs)));
        } else {
          if (subscription) {
            subscription = undefined;
            options.onMode?.('polling', 'the WebSocket closed');
          }
          await this.sleep(Math.min(left, this.pollIntervalMs));
        }
      }
    } finally {
      subscription?.close();
    }
  }
}

async function readBody(response: Response): Promise<unknown> {
  if (response.status === 204) return undefined;
  const text = await response.text();
  if (!text) return undefined;
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

const randomKey = () => `cli-${globalThis.crypto.randomUUID()}`;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** A `ref` is known only inside its bulk request: refuse a dependsOn that would cross chunks. */
function checkRefsWithinChunks(chunks: readonly (readonly JobSubmission[])[]) {
  if (chunks.length < 2) return;
  const chunkOfRef = new Map<string, number>();
  chunks.forEach((part, n) => {
    for (const job of part) if (job.ref) chunkOfRef.set(job.ref, n);
  });
  chunks.forEach((part, n) => {
    for (const job of part)
      for (const dep of job.dependsOn ?? []) {
        const at = chunkOfRef.get(dep);
        if (at !== undefined && at !== n)
          throw new RangeError(
            `Job ${job.ref ?? job.type} depends on ref "${dep}" in another chunk of ${maxBulkJobs}; keep dependent jobs within one chunk or submit them separately`,
          );
      }
  });
}
