/** Real-time push: tickets, subscription frames and what each socket is sent. */
import { describe, expect, it } from 'vitest';
import type { FactoryEvent } from '../../functions/domain/factory-events.ts';
import {
  deliveriesOf,
  issueTicket,
  subscribeFrameSchema,
  ticketHash,
  ticketTtlMs,
} from '../../functions/domain/realtime.ts';

const event = (over: Partial<FactoryEvent>): FactoryEvent => ({
  id: '0mx5ldl9z213f1fdb-0000',
  type: 'job.started',
  at: '2026-12-01T10:00:00.000Z',
  data: {},
  key: 'k',
  ...over,
});

describe('tickets', () => {
  it('are random, stored only as their hash, and good for a minute', () => {
    const now = new Date('2026-12-01T10:00:00.000Z');
    const [a, b] = [issueTicket(now), issueTicket(now)];
    expect(a.ticket).not.toBe(b.ticket);
    expect(a.ticket).toMatch(/^rft_[A-Za-z0-9_-]{43}$/);
    expect(a.hash).toBe(ticketHash(a.ticket));
    expect(a.hash).not.toContain(a.ticket.slice(4));
    expect(Date.parse(a.expiresAt) - now.getTime()).toBe(ticketTtlMs);
  });
});

describe('subscriptions', () => {
  it('take filters by job, order, queue and event types, and nothing else', () => {
    expect(subscribeFrameSchema.parse({ action: 'subscribe' })).toEqual({ action: 'subscribe', filters: {} });
    expect(subscribeFrameSchema.safeParse({ action: 'subscribe', filters: { colour: 'red' } }).success).toBe(
      false,
    );
    expect(
      subscribeFrameSchema.safeParse({ action: 'subscribe', filters: { types: ['job.exploded'] } }).success,
    ).toBe(false);
  });

  it('send each subscribed socket the events it matches, in order, and nothing to one not subscribed yet', () => {
    const events = [
      event({ type: 'job.started', jobId: 'a', queue: 'media' }),
      event({ type: 'job.completed', jobId: 'a', queue: 'media' }),
      event({ type: 'order.created', orderId: 'o1' }),
    ];
    const sent = deliveriesOf(events, [
      { connectionId: 'everything', filters: {} },
      { connectionId: 'completions', filters: { queue: 'media', types: ['job.completed'] } },
      { connectionId: 'order', filters: { orderId: 'o1' } },
      { connectionId: 'other-job', filters: { jobId: 'b' } },
      { connectionId: 'new' },
    ]);
    expect(sent.map((d) => [d.connectionId, d.events.map((e) => e.type)])).toEqual([
      ['everything', ['job.started', 'job.completed', 'order.created']],
      ['completions', ['job.completed']],
      ['order', ['order.created']],
    ]);
  });
});
