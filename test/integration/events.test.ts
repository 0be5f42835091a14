/**
 * The event stream over HTTP: every state change as an event, made of the tables' changes
 * (their streams), listed by GET /events and put on the EventBridge bus.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  api,
  invokeFunction,
  placeOrder,
  runTag,
  submitJob,
  waitForJob,
  waitForOrder,
} from '../helpers/factory-client.ts';

interface FactoryEvent {
  id: string;
  type: string;
  at: string;
  queue?: string;
  jobId?: string;
  orderId?: string;
  data: Record<string, unknown>;
}

/** Every event GET /events lists for the filter, following the cursor until `done` holds. */
async function eventsUntil(
  query: string,
  done: (events: FactoryEvent[]) => boolean,
): Promise<FactoryEvent[]> {
  const seen: FactoryEvent[] = [];
  let after: string | undefined;
  return vi.waitFor(
    async () => {
      for (;;) {
        const page = await api('GET', `/events?${query}${after ? `&after=${after}` : ''}`);
        expect(page.status).toBe(200);
        seen.push(...page.body.events);
        if (page.body.nextCursor === after) break;
        after = page.body.nextCursor;
        if (page.body.events.length === 0) break;
      }
      expect(done(seen)).toBe(true);
      return seen;
    },
    { timeout: 60_000, interval: 1_000 },
  );
}

describe('the event stream', () => {
  it("lists a job's events in order: submitted, started, completed", async () => {
    const { jobId } = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'events@example.com', subject: runTag('events'), body: 'b' },
    });
    await waitForJob(jobId);
    const events = await eventsUntil(`jobId=${jobId}`, (e) => e.some((x) => x.type === 'job.completed'));
    expect(events.map((e) => e.type)).toEqual(['job.submitted', 'job.started', 'job.completed']);
    for (const event of events) {
      expect(event).toMatchObject({ jobId, queue: 'notifications', data: { type: 'send_email' } });
      expect(Number.isNaN(Date.parse(event.at))).toBe(false);
    }
    // Ids sort in publication order: the cursor of a reconnecting client.
    expect([...events.map((e) => e.id)].sort()).toEqual(events.map((e) => e.id));
  });

  it("follows a robot order: created, each step's progress, completed", async () => {
    const order = await placeOrder('companion');
    expect((await waitForOrder(order.orderId)).status).toBe('COMPLETED');
    // The steps' events come through another stream than the order's: wait for both.
    const events = await eventsUntil(
      `orderId=${order.orderId}`,
      (e) =>
        e.some((x) => x.type === 'order.completed') &&
        e.filter((x) => x.type === 'order.progress').length >= 3,
    );
    const types = events.map((e) => e.type);
    // One row's changes keep their order; the order's row and its steps' rows are other
    // tables (other streams), so a step's job.submitted may be published before order.created.
    expect(types.filter((t) => t === 'order.created' || t === 'order.completed')).toEqual([
      'order.created',
      'order.completed',
    ]);
    expect(types.filter((t) => t === 'order.progress').length).toBeGreaterThanOrEqual(3);
    const only = await eventsUntil(`orderId=${order.orderId}&type=order.created,order.completed`, (e) =>
      e.some((x) => x.type === 'order.completed'),
    );
    expect(only.map((e) => e.type)).toEqual(['order.created', 'order.completed']);
  });

  it('announces each worker that starts, by the row it writes first', async () => {
    const { jobId } = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'events@example.com', subject: runTag('worker'), body: 'b' },
    });
    await waitForJob(jobId);
    const { body } = await api('GET', '/workers/status?queue=notifications');
    const workers: string[] = body.queues[0].workers.map((w: { workerId: string }) => w.workerId);
    expect(workers.length).toBeGreaterThan(0);
    const events = await eventsUntil('type=worker.started&queue=notifications', (e) =>
      workers.some((id) => e.some((x) => x.data.workerId === id)),
    );
    expect(events[0]).toMatchObject({
      type: 'worker.started',
      queue: 'notifications',
      data: { workerId: expect.stringMatching(/^notifications:/), functionName: expect.any(String) },
    });
  });

  it('announces a paused and a resumed queue', async () => {
    expect((await api('POST', '/queues/warp/pause')).status).toBe(404);
    await api('POST', '/queues/media/pause', { reason: runTag('events') });
    await api('POST', '/queues/media/resume');
    const events = await eventsUntil('queue=media&type=queue.paused,queue.resumed', (e) =>
      e.some((x) => x.type === 'queue.resumed'),
    );
    expect(events.map((e) => e.type).slice(-2)).toEqual(['queue.paused', 'queue.resumed']);
  });

  it("reports each queue's backlog every minute (the autoscaler's reading)", async () => {
    await invokeFunction('Autoscaler');
    const events = await eventsUntil('type=queue.backlog&queue=media', (e) => e.length > 0);
    expect(events[0]).toMatchObject({
      type: 'queue.backlog',
      queue: 'media',
      data: { depth: expect.any(Number), inFlight: expect.any(Number), concurrency: expect.any(Number) },
    });
  });

  it('refuses a bad filter with a 400', async () => {
    for (const query of ['type=job.exploded', 'after=yesterday', 'limit=0']) {
      const { status, body } = await api('GET', `/events?${query}`);
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('VALIDATION_FAILED');
    }
  });
});
