/**
 * POST /realtime/tickets (any role) → 201 {ticket, url, expiresAt, role, keyName}: a single-use ticket, good
 * for a minute, to open the WebSocket at `url?ticket=<ticket>` (domain/realtime.ts). The socket
 * carries the key's role; the key itself never goes into a URL.
 */
import { RealtimeStore } from '#adapters/realtime-store';
import type { Role } from '#domain/access';
import { realtimeTicketSchema } from '#domain/api-responses';
import { issueTicket } from '#domain/realtime';
import { requireEnv } from '#shared/env';
import { httpRoute, json, verdictOf } from '#shared/http';

const store = new RealtimeStore(requireEnv('REALTIME_TABLE'));
const url = requireEnv('REALTIME_URL');

export const handler = httpRoute({ responses: { 201: realtimeTicketSchema } }, async ({ event }) => {
  const verdict = verdictOf(event);
  const ticket = issueTicket(new Date());
  const role = (verdict?.role ?? 'viewer') as Role;
  await store.putTicket(ticket.hash, { keyId: verdict?.keyId ?? 'unknown', role }, ticket.expiresAt);
  // The role and key name let a client (the console) show only what the key may do.
  return json(201, {
    ticket: ticket.ticket,
    url,
    expiresAt: ticket.expiresAt,
    role,
    keyName: verdict?.keyName ?? null,
  });
});
