/**
 * Real-time push over the WebSocket API (docs/events.md#real-time-push). Browsers cannot set
 * headers on a WebSocket, so a client first asks for a short-lived, single-use ticket with its
 * API key (`POST /realtime/tickets`) and connects with `?ticket=`; keys never appear in URLs.
 * A connection then subscribes with filters and receives each matching event as one JSON text
 * frame, in the shape of the event stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { Role } from './access.ts';
import { eventTypes, type FactoryEvent, matchesFilter } from './factory-events.ts';

/** A ticket is good for this long, once. */
export const ticketTtlMs = 60_000;
/** A connection's row outlives API Gateway's 2-hour connection limit a little, then expires. */
export const connectionTtlMs = 2 * 3_600_000 + 10 * 60_000;

export interface Ticket {
  /** What the client sends (`rft_` and 32 random bytes, base64url): shown once, never stored. */
  readonly ticket: string;
  /** What is stored: the SHA-256 of the ticket. */
  readonly hash: string;
  readonly expiresAt: string;
}

export const ticketHash = (ticket: string): string => createHash('sha256').update(ticket).digest('hex');

export function issueTicket(now: Date): Ticket {
  const ticket = `rft_${randomBytes(32).toString('base64url')}`;
  return { ticket, hash: ticketHash(ticket), expiresAt: new Date(now.getTime() + ticketTtlMs).toISOString() };
}

/** Who a ticket was issued to: the connection carries it (a viewer's socket is a viewer's). */
export interface TicketHolder {
  readonly keyId: string;
  readonly role: Role;
}

export const subscriptionFiltersSchema = z
  .object({
    jobId: z.string().min(1).max(200).optional(),
    orderId: z.string().min(1).max(200).optional(),
    queue: z.string().min(1).max(64).optional(),
    types: z.array(z.enum(eventTypes)).min(1).max(eventTypes.length).optional(),
  })
  .strict();
export type SubscriptionFilters = z.infer<typeof subscriptionFiltersSchema>;

/** The frame a client sends: `{"action":"subscribe","filters":{…}}` (no filters: everything). */
export const subscribeFrameSchema = z
  .object({ action: z.literal('subscribe'), filters: subscriptionFiltersSchema.default({}) })
  .strict();

/** The same matching as GET /events' filters (the subscription names its types in a list). */
export const matchesSubscription = (event: FactoryEvent, filters: SubscriptionFilters): boolean =>
  matchesFilter(event, { ...filters, type: filters.types });

export interface Subscriber {
  readonly connectionId: string;
  /** Absent until the connection subscribes: it receives nothing before. */
  readonly filters?: SubscriptionFilters;
}

/** What each subscribed connection is sent of a batch of events, in order. */
export function deliveriesOf(
  events: readonly FactoryEvent[],
  subscribers: readonly Subscriber[],
): { connectionId: string; events: FactoryEvent[] }[] {
  return subscribers.flatMap(({ connectionId, filters }) => {
    if (!filters) return [];
    const matching = events.filter((e) => matchesSubscription(e, filters));
    return matching.length > 0 ? [{ connectionId, events: matching }] : [];
  });
}
