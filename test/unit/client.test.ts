import { describe, expect, it } from 'vitest';
import {
  FactoryApiError,
  FactoryClient,
  FactoryConnectionError,
  type JobSubmission,
  type SocketLike,
} from '../../client/src/index.ts';
import type { JobRequest } from '../../functions/domain/job-submission.ts';

interface Call {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

/** A fetch that records each call and answers from `answer` (per call). */
function fakeFetch(answer: (call: Call, n: number) => Answer) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL, init: RequestInit = {}) => {
    const call: Call = {
      method: init.method ?? 'GET',
      url: new URL(String(input)),
      headers: init.headers as Record<string, string>,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const a = answer(call, calls.length - 1);
    if (a instanceof Error) throw a;
    const text = a.body === undefined ? '' : typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    return new Response(a.status === 204 ? null : text, {
      status: a.status,
      headers: { 'content-type': typeof a.body === 'string' ? 'text/csv' : 'application/json', ...a.headers },
    });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

function clientWith(answer: (call: Call, n: number) => Answer, options: { retries?: number } = {}) {
  const { fetch, calls } = fakeFetch(answer);
  const sleeps: number[] = [];
  const client = new FactoryClient({
    url: 'http://factory.test/',
    key: 'rfk_test',
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    webSocket: false,
    ...options,
  });
  return { client, calls, sleeps };
}

const job = (i: number): JobSubmission => ({ queue: 'default', type: 'delayed_message', payload: { i } });

describe('FactoryClient requests', () => {
  it('sends the key, JSON body and query, and parses the answer', async () => {
    const { client, calls } = clientWith(() => ({ status: 200, body: { jobs: [], nextCursor: null } }));
    await client.listJobs({ queue: 'default', status: 'DEAD', limit: 20 });
    const [call] = calls;
    expect(call?.method).toBe('GET');
    expect(call?.url.pathname).toBe('/jobs');
    expect(Object.fromEntries(call?.url.searchParams ?? [])).toEqual({
      queue: 'default',
      status: 'DEAD',
      limit: '20',
    });
    expect(call?.headers.authorization).toBe('Bearer rfk_test');
  });

  it('sends a single job with an Idempotency-Key so a retried 5xx stores it once', async () => {
    const { client, calls } = clientWith(() => ({
      status: 202,
      body: { jobId: 'job_1', status: 'QUEUED', duplicate: false },
    }));
    const accepted = await client.submitJob(job(1));
    expect(accepted.jobId).toBe('job_1');
    expect(calls[0]?.body).toEqual(job(1));
    expect(calls[0]?.headers['idempotency-key']).toMatch(/^cli-/);
    await client.submitJob(job(1), { idempotencyKey: 'mine' });
    expect(calls[1]?.headers['idempotency-key']).toBe('mine');
  });

  it('throws FactoryApiError with the status and the error envelope', async () => {
    const envelope = {
      error: { code: 'JOB_NOT_FOUND', message: 'No job with id "x".', details: { id: 'x' } },
    };
    const { client, calls } = clientWith(() => ({ status: 404, body: envelope }));
    const error = await client.getJob('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FactoryApiError);
    expect(error).toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
      message: 'No job with id "x".',
      details: { id: 'x' },
    });
    expect((error as FactoryApiError).body).toEqual(envelope);
    expect(calls).toHaveLength(1); // a 4xx is not retried
  });

  it('returns CSV as text (GET /dlq/export)', async () => {
    const { client, calls } = clientWith(() => ({
      status: 200,
      body: 'jobId,queue\r\n"job_1","default"\r\n',
    }));
    expect(await client.exportDeadJobs({ queue: 'default' })).toContain('"job_1"');
    expect(calls[0]?.url.pathname).toBe('/dlq/export');
  });

  it('unwraps GET /api-keys and hits DELETE /api-keys/{keyId}', async () => {
    const { client, calls } = clientWith((call) =>
      call.method === 'GET'
        ? { status: 200, body: { keys: [{ keyId: 'k1', role: 'viewer' }] } }
        : { status: 200, body: {} },
    );
    expect(await client.listKeys()).toEqual([{ keyId: 'k1', role: 'viewer' }]);
    await client.revokeKey('k0123456789ab');
    expect(calls[1]).toMatchObject({ method: 'DELETE' });
    expect(calls[1]?.url.pathname).toBe('/api-keys/k0123456789ab');
  });
});

describe('retries', () => {
  it('retries 429 and 503 with exponential backoff and jitter, then succeeds', async () => {
    const { client, calls, sleeps } = clientWith(
      (_call, n) =>
        n < 3
          ? { status: n === 1 ? 429 : 503, body: { error: { code: 'BUSY', message: 'busy' } } }
          : { status: 202, body: { orderId: 'ord_1', status: 'PENDING', statusUrl: '/orders/ord_1/status' } },
      { retries: 3 },
    );
    // POST /orders has no idempotency key: only 429/503 (not processed) are retried.
    const accepted = await client.createOrder({ customerId: 'c', robotType: 'courier', specifications: {} });
    expect(accepted.orderId).toBe('ord_1');
    expect(calls).toHaveLength(4);
    // random() = 0.5 of base 250 ms · 2^attempt: 125, 250, 500.
    expect(sleeps).toEqual([125, 250, 500]);
  });

  it('honours Retry-After (seconds) instead of the computed backoff', async () => {
    const { client, sleeps } = clientWith((_c, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '7' }, body: {} } : { status: 200, body: [] },
    );
    await client.queues();
    expect(sleeps).toEqual([7000]);
  });

  it('caps the backoff and gives up after `retries`, with the last answer as the error', async () => {
    const { client, calls, sleeps } = clientWith(
      () => ({ status: 503, body: { error: { code: 'INTAKE_FAILED', message: 'down' } } }),
      {
        retries: 6,
      },
    );
    const error = await client.getJob('job_1').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'INTAKE_FAILED' });
    expect(calls).toHaveLength(7);
    expect(sleeps).toEqual([125, 250, 500, 1000, 2000, 4000]);
  });

  it('does not repeat a non-idempotent POST after a 500, but does repeat a GET', async () => {
    const post = clientWith(() => ({ status: 500, body: { error: { code: 'INTERNAL', message: 'x' } } }));
    await expect(
      post.client.createOrder({ customerId: 'c', robotType: 'courier', specifications: {} }),
    ).rejects.toMatchObject({ status: 500 });
    expect(post.calls).toHaveLength(1);
    const get = clientWith((_c, n) =>
      n === 0 ? { status: 500, body: {} } : { status: 200, body: { jobId: 'j' } },
    );
    expect(await get.client.getJob('j')).toEqual({ jobId: 'j' });
    expect(get.calls).toHaveLength(2);
  });

  it('repeats a keyed request answered 409 with Retry-After (still being stored), not another 409', async () => {
    const inProgress = {
      status: 409,
      headers: { 'retry-after': '5' },
      body: { error: { code: 'REQUEST_IN_PROGRESS', message: 'still being stored' } },
    };
    const keyed = clientWith((_call, n) =>
      n === 0 ? inProgress : { status: 202, body: { accepted: 0, duplicates: 1, jobs: [] } },
    );
    await keyed.client.submitJobs([job(1)], { idempotencyKey: 'k' });
    expect(keyed.calls).toHaveLength(2);
    expect(keyed.sleeps).toEqual([5000]);
    const finished = clientWith(() => ({
      status: 409,
      body: { error: { code: 'ORDER_FINISHED', message: 'already completed' } },
    }));
    await expect(finished.client.cancelOrder('ord_1')).rejects.toMatchObject({ status: 409 });
    expect(finished.calls).toHaveLength(1);
  });

  it('turns an unreachable factory into FactoryConnectionError after retrying', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const { client, calls } = clientWith(() => refused, { retries: 2 });
    const error = await client.queues().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FactoryConnectionError);
    expect((error as FactoryConnectionError).reason).toBe('ECONNREFUSED');
    expect(calls).toHaveLength(3);
  });
});

describe('submitJobs', () => {
  const bulk = (call: Call) => {
    const jobs = (call.body as { jobs: JobSubmission[] }).jobs;
    return {
      status: 202,
      body: {
        accepted: jobs.length,
        duplicates: 0,
        jobs: jobs.map((j) => ({
          jobId: `job_${(j.payload as { i: number }).i}`,
          status: 'QUEUED',
          duplicate: false,
        })),
      },
    };
  };

  it('chunks into POST /jobs/bulk calls of at most 500, in order, each with its own idempotency key', async () => {
    const { client, calls } = clientWith(bulk);
    const progress: [number, number][] = [];
    const jobs = Array.from({ length: 1201 }, (_, i) => job(i));
    const result = await client.submitJobs(jobs, {
      idempotencyKey: 'nightly',
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(calls.map((c) => (c.body as { jobs: unknown[] }).jobs.length)).toEqual([500, 500, 201]);
    expect(calls.every((c) => c.method === 'POST' && c.url.pathname === '/jobs/bulk')).toBe(true);
    expect(calls.map((c) => c.headers['idempotency-key'])).toEqual(['nightly-0', 'nightly-1', 'nightly-2']);
    expect(result.accepted).toBe(1201);
    expect(result.jobs.map((j) => j.jobId)).toEqual(jobs.map((_, i) => `job_${i}`));
    expect(progress).toEqual([
      [500, 1201],
      [1000, 1201],
      [1201, 1201],
    ]);
  });

  it('takes a smaller chunk size and refuses one over the API limit', async () => {
    const { client, calls } = clientWith(bulk);
    await client.submitJobs([job(1), job(2), job(3)], { chunkSize: 2 });
    expect(calls).toHaveLength(2);
    await expect(client.submitJobs([job(1)], { chunkSize: 501 })).rejects.toThrow(/chunkSize/);
  });

  it('keeps `parallel` calls under way at once and lists the jobs in the order given, whatever order the answers come in', async () => {
    const pending: { call: Call; answer: () => void }[] = [];
    const fetch = ((input: string | URL, init: RequestInit = {}) =>
      new Promise<Response>((resolve) => {
        const call: Call = {
          method: init.method ?? 'GET',
          url: new URL(String(input)),
          headers: init.headers as Record<string, string>,
          body: JSON.parse(String(init.body)),
        };
        pending.push({
          call,
          answer: () => resolve(Response.json(bulk(call).body, { status: 202 })),
        });
      })) as typeof globalThis.fetch;
    const client = new FactoryClient({
      url: 'http://factory.test/',
      key: 'rfk_test',
      fetch,
      webSocket: false,
    });
    // Lets the client's promises run (no timers, no I/O: the fake answers only when told).
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    const jobs = Array.from({ length: 10 }, (_, i) => job(i));
    const progress: number[] = [];
    const submitting = client.submitJobs(jobs, {
      chunkSize: 2,
      parallel: 3,
      idempotencyKey: 'k',
      onProgress: (done) => progress.push(done),
    });
    await settle();
    expect(pending.map((p) => p.call.headers['idempotency-key'])).toEqual(['k-0', 'k-1', 'k-2']);
    const underWay: number[] = [];
    const answeredCalls = new Set<number>();
    // Always the newest call is answered first: the client must still put chunk 0's jobs first.
    while (answeredCalls.size < 5) {
      underWay.push(pending.length - answeredCalls.size);
      let newest = pending.length - 1;
      while (answeredCalls.has(newest)) newest--;
      answeredCalls.add(newest);
      pending[newest]?.answer();
      await settle();
    }
    const result = await submitting;
    expect(Math.max(...underWay)).toBe(3);
    expect(pending.map((p) => p.call.headers['idempotency-key']).sort()).toEqual([
      'k-0',
      'k-1',
      'k-2',
      'k-3',
      'k-4',
    ]);
    expect(result.accepted).toBe(10);
    expect(result.jobs.map((j) => j.jobId)).toEqual(jobs.map((_, i) => `job_${i}`));
    expect(progress).toEqual([2, 4, 6, 8, 10]);
  });

  it('sends no further chunk after a refused one, waits for those under way, and throws the refusal', async () => {
    const { client, calls } = clientWith((call, n) =>
      n === 0 ? { status: 400, body: { error: { code: 'INVALID_JOB', message: 'no' } } } : bulk(call),
    );
    const jobs = Array.from({ length: 5 }, (_, i) => job(i));
    await expect(client.submitJobs(jobs, { chunkSize: 1, parallel: 2 })).rejects.toBeInstanceOf(
      FactoryApiError,
    );
    // Chunk 1 was already under way beside chunk 0; chunks 2–4 were never sent.
    expect(calls).toHaveLength(2);
    await expect(client.submitJobs(jobs, { parallel: 0 })).rejects.toThrow(/parallel/);
    await expect(client.submitJobs(jobs, { parallel: 17 })).rejects.toThrow(/parallel/);
  });

  it('refuses refs that a chunk boundary would cut, before sending anything', async () => {
    const { client, calls } = clientWith(bulk);
    const jobs = [
      { ...job(0), ref: 'first' },
      { ...job(1), dependsOn: ['first'] },
    ];
    await expect(client.submitJobs(jobs, { chunkSize: 1 })).rejects.toThrow(/another chunk/);
    expect(calls).toHaveLength(0);
    await client.submitJobs(jobs, { chunkSize: 2 });
    expect(calls).toHaveLength(1);
  });
});

describe('waitForJob', () => {
  it('polls GET /jobs/{id} every pollIntervalMs until the job finishes', async () => {
    const statuses = ['QUEUED', 'RUNNING', 'RUNNING', 'COMPLETED'];
    const { client, calls, sleeps } = clientWith((_c, n) => ({
      status: 200,
      body: { jobId: 'job_1', status: statuses[n], attempts: 1, maxAttempts: 3 },
    }));
    const seen: string[] = [];
    const done = await client.waitForJob('job_1', { onUpdate: (j) => seen.push(j.status) });
    expect(done.status).toBe('COMPLETED');
    expect(seen).toEqual(statuses);
    expect(calls.every((c) => c.url.pathname === '/jobs/job_1')).toBe(true);
    expect(sleeps).toEqual([1000, 1000, 1000]);
  });

  it('returns a DEAD job too (the caller decides what that means)', async () => {
    const { client } = clientWith(() => ({
      status: 200,
      body: { jobId: 'job_1', status: 'DEAD', error: 'boom' },
    }));
    expect(await client.waitForJob('job_1')).toMatchObject({ status: 'DEAD', error: 'boom' });
  });

  it('gives up after timeoutMs on the injected clock', async () => {
    let now = 0;
    const { fetch } = fakeFetch(() => ({ status: 200, body: { jobId: 'job_1', status: 'RUNNING' } }));
    const client = new FactoryClient({
      url: 'http://factory.test',
      key: 'k',
      fetch,
      webSocket: false,
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    await expect(client.waitForJob('job_1', { timeoutMs: 3500 })).rejects.toThrow(/Still not finished/);
    expect(now).toBe(3500);
  });

  it('waits on the WebSocket: ticket, subscribe with the jobId, re-read on the event', async () => {
    const sockets: FakeSocket[] = [];
    let status = 'RUNNING';
    const { fetch, calls } = fakeFetch((call) =>
      call.url.pathname === '/realtime/tickets'
        ? {
            status: 201,
            body: { ticket: 't1', url: 'ws://edge.test/live', expiresAt: '', role: 'admin', keyName: 'x' },
          }
        : { status: 200, body: { jobId: 'job_1', status } },
    );
    let release!: () => void;
    const client = new FactoryClient({
      url: 'http://factory.test',
      key: 'k',
      fetch,
      // The recheck timer never fires: only the pushed event can end the wait.
      sleep: () => new Promise<void>((resolve) => (release = resolve)),
      webSocket: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
    });
    const modes: string[] = [];
    const waiting = client.waitForJob('job_1', { onMode: (m) => modes.push(m) });
    await until(() => sockets[0]?.onopen !== null && sockets[0] !== undefined);
    const socket = sockets[0] as FakeSocket;
    expect(socket.url).toBe('ws://edge.test/live?ticket=t1');
    socket.onopen?.({});
    expect(JSON.parse(socket.sent[0] as string)).toEqual({
      action: 'subscribe',
      filters: { jobId: 'job_1' },
    });
    socket.onmessage?.({ data: JSON.stringify({ action: 'subscribed', filters: { jobId: 'job_1' } }) });
    await until(() => calls.filter((c) => c.url.pathname === '/jobs/job_1').length === 1);
    status = 'COMPLETED';
    socket.onmessage?.({
      data: JSON.stringify({ id: 'e1', type: 'job.completed', jobId: 'job_1', data: {}, key: 'k' }),
    });
    expect((await waiting).status).toBe('COMPLETED');
    expect(modes).toEqual(['realtime']);
    expect(socket.closed).toBe(true);
    release?.();
  });
});

class FakeSocket implements SocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
}

/** Lets pending promise callbacks run until the condition holds (no timers). */
async function until(condition: () => boolean) {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise<void>((resolve) => queueMicrotask(resolve));
  expect(condition()).toBe(true);
}

describe('types', () => {
  it('a request the server schema produces is a valid client JobSubmission', () => {
    // Compile-time check (tsc): the server's parsed job request fits the client's type.
    const parsed = {
      queue: 'default',
      type: 'send_email',
      payload: {},
      priority: 5,
      dependsOn: [],
    } as JobRequest;
    const submission: JobSubmission = parsed;
    expect(submission.queue).toBe('default');
  });
});
