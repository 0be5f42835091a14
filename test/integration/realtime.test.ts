/**
 * Real-time push over the WebSocket API, without a browser: a ticket from POST /realtime/tickets,
 * a connection with ?ticket=, a subscription with filters, and the events as JSON text frames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { api, bearer, runTag, submitJob, waitForJob } from '../helpers/factory-client.ts';

interface Frame {
  [key: string]: unknown;
  action?: string;
  type?: string;
  jobId?: string;
  queue?: string;
}

const open: WebSocket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.terminate();
});

async function ticket(role: 'viewer' | 'admin' = 'viewer') {
  const answer = await api('POST', '/realtime/tickets', undefined, bearer(role));
  expect(answer.status).toBe(201);
  expect(answer.body).toMatchObject({
    ticket: expect.stringMatching(/^rft_/),
    url: expect.stringMatching(/^wss?:\/\//),
    role,
  });
  expect(Date.parse(answer.body.expiresAt)).toBeGreaterThan(Date.now());
  return answer.body as { ticket: string; url: string };
}

/** Connects; resolves with the socket and its frames, or rejects with the refusal's status. */
function connect(
  url: string,
): Promise<{ socket: WebSocket; frames: Frame[]; next: (p: (f: Frame) => boolean) => Promise<Frame> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    open.push(socket);
    const frames: Frame[] = [];
    const waiters: { p: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      frames.push(frame);
      for (const w of [...waiters])
        if (w.p(frame)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(frame);
        }
    });
    socket.on('unexpected-response', (_request, response) =>
      reject(new Error(`refused: ${response.statusCode}`)),
    );
    socket.on('error', reject);
    socket.on('open', () =>
      resolve({
        socket,
        frames,
        next: (p) =>
          new Promise<Frame>((found, fail) => {
            const seen = frames.find(p);
            if (seen) return found(seen);
            const timer = setTimeout(
              () => fail(new Error(`no such frame in 60 s; got ${JSON.stringify(frames)}`)),
              60_000,
            );
            waiters.push({
              p,
              resolve: (f) => {
                clearTimeout(timer);
                found(f);
              },
            });
          }),
      }),
    );
  });
}

const subscribe = async (live: Awaited<ReturnType<typeof connect>>, filters: Record<string, unknown>) => {
  live.socket.send(JSON.stringify({ action: 'subscribe', filters }));
  return live.next((f) => f.action === 'subscribed' || f.action === 'error');
};

const email = () => ({ to: 'live@example.com', subject: runTag('live'), body: 'b' });

describe('real-time push', () => {
  it("pushes one job's events, in order, to the socket subscribed to it", async () => {
    const { ticket: t, url } = await ticket();
    const live = await connect(`${url}?ticket=${t}`);
    // Delayed a little: it starts after the subscription is in place.
    const { jobId } = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: email(),
      delayMs: 2000,
    });
    expect(await subscribe(live, { jobId })).toMatchObject({ action: 'subscribed', filters: { jobId } });
    const completed = await live.next((f) => f.type === 'job.completed');
    expect(completed).toMatchObject({ jobId, queue: 'notifications', data: { type: 'send_email' } });
    const events = live.frames.filter((f) => f.type);
    // Its submission may be published after the subscription too.
    expect(events.map((f) => f.type).filter((t) => t !== 'job.submitted')).toEqual([
      'job.started',
      'job.completed',
    ]);
    expect(events.findIndex((f) => f.type === 'job.submitted')).toBeLessThanOrEqual(0);
    for (const f of events)
      expect(Object.keys(f).sort()).toEqual(['at', 'data', 'id', 'jobId', 'key', 'queue', 'type']);
    // The frames carry the ids GET /events lists: a client that reconnects goes on from them.
    expect(events.map((f) => f.id)).toEqual(events.map((f) => f.id).sort());
  });

  it('delivers only what a filter names', async () => {
    const { ticket: t, url } = await ticket();
    const live = await connect(`${url}?ticket=${t}`);
    await subscribe(live, { queue: 'notifications', types: ['job.completed'] });
    const jobs = await Promise.all(
      [1, 2].map(() => submitJob({ queue: 'notifications', type: 'send_email', payload: email() })),
    );
    for (const { jobId } of jobs) await live.next((f) => f.jobId === jobId);
    await Promise.all(jobs.map((j) => waitForJob(j.jobId)));
    for (const f of live.frames.filter((x) => x.type))
      expect(f).toMatchObject({ type: 'job.completed', queue: 'notifications' });
  });

  it('refuses a connection without a ticket, with a bad one, and with one already used', async () => {
    const { ticket: t, url } = await ticket();
    await expect(connect(url)).rejects.toThrow('refused: 401');
    await expect(connect(`${url}?ticket=rft_not-a-ticket`)).rejects.toThrow('refused: 401');
    await connect(`${url}?ticket=${t}`);
    await expect(connect(`${url}?ticket=${t}`)).rejects.toThrow('refused: 401');
    // Without a key there is no ticket.
    expect((await api('POST', '/realtime/tickets', undefined, { authorization: '' })).status).toBe(401);
  });

  it('answers a frame it cannot take with an error frame', async () => {
    const { ticket: t, url } = await ticket('admin');
    const live = await connect(`${url}?ticket=${t}`);
    const answer = await subscribe(live, { types: ['job.exploded'] });
    expect(answer).toMatchObject({ action: 'error', error: { code: 'INVALID_FRAME' } });
  });
});
