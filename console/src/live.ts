/**
 * The console's live connection: a WebSocket to the factory's push API (docs/events.md),
 * opened with a single-use ticket, subscribed to every event. When it drops it reconnects with
 * a new ticket and catches up through GET /events?after=<last id seen>, so no change is missed
 * while the socket was away. Pages listen with useLiveEvents / useLiveData (hooks.ts).
 */
import { call, get } from './api.ts';
import type { FactoryEvent, Role } from './types.ts';

export type LiveState = 'connecting' | 'live' | 'offline';

interface Ticket {
  readonly ticket: string;
  readonly url: string;
  readonly role: Role;
  readonly keyName: string | null;
}

type Listener = (event: FactoryEvent) => void;

export class LiveFeed {
  state: LiveState = 'connecting';
  private socket: WebSocket | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(state: LiveState) => void>();
  private readonly seen = new Set<string>();
  private lastId: string | undefined;
  private retryMs = 1000;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Asks for a ticket (this also checks the key and tells its role). */
  static ticket(): Promise<Ticket> {
    return call<Ticket>('POST', '/realtime/tickets');
  }

  start(first?: Ticket): void {
    void this.connect(first);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  listen(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watchState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private setState(state: LiveState) {
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private deliver(event: FactoryEvent) {
    if (this.seen.has(event.id)) return;
    this.seen.add(event.id);
    if (this.seen.size > 5000) this.seen.delete(this.seen.values().next().value as string);
    if (!this.lastId || event.id > this.lastId) this.lastId = event.id;
    for (const listener of this.listeners) listener(event);
  }

  private async connect(given?: Ticket) {
    if (this.stopped) return;
    this.setState('connecting');
    try {
      const ticket = given ?? (await LiveFeed.ticket());
      const socket = new WebSocket(`${ticket.url}?ticket=${encodeURIComponent(ticket.ticket)}`);
      this.socket = socket;
      socket.onopen = () => socket.send(JSON.stringify({ action: 'subscribe', filters: {} }));
      socket.onmessage = (message) => {
        const frame = JSON.parse(String(message.data)) as FactoryEvent & { action?: string };
        if (frame.action === 'subscribed') {
          this.retryMs = 1000;
          this.setState('live');
          void this.catchUp();
          return;
        }
        if (frame.action) return;
        this.deliver(frame);
      };
      socket.onclose = () => this.retry();
    } catch {
      this.retry();
    }
  }

  /** Events published while the socket was away (only after a drop: a new page starts fresh). */
  private async catchUp() {
    let after = this.lastId;
    for (let page = 0; after && page < 10; page++) {
      const answer = await get<{ events: FactoryEvent[]; nextCursor: string | null }>(
        `/events?after=${encodeURIComponent(after)}&limit=200`,
      ).catch(() => undefined);
      if (!answer) return;
      for (const event of answer.events) this.deliver(event);
      if (answer.events.length < 200) return;
      after = answer.nextCursor ?? undefined;
    }
  }

  private retry() {
    if (this.stopped) return;
    this.setState('offline');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 15_000);
  }
}
