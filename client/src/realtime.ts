/**
 * The factory's WebSocket push (docs/events.md#real-time-push-websocket): a single-use ticket
 * from POST /realtime/tickets, a socket to `url?ticket=…`, a subscribe frame with filters, then
 * one JSON text frame per matching event. Works with the browser's WebSocket, Node 22's global
 * one, or the `ws` package (Node 20), whichever is there.
 */
import type { FactoryEvent, RealtimeTicket } from './types.ts';

/** What the client needs of a WebSocket: the `on…` properties both `ws` and the browser's have. */
export interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  send(data: string): void;
  close(): void;
}

export type SocketFactory = (url: string) => SocketLike | Promise<SocketLike>;

export interface SubscriptionFilters {
  jobId?: string;
  orderId?: string;
  queue?: string;
  types?: string[];
}

/** The platform's WebSocket, else the `ws` package, else undefined (the caller polls). */
export const defaultSocketFactory: SocketFactory | undefined = (() => {
  const native = (globalThis as { WebSocket?: new (url: string) => SocketLike }).WebSocket;
  if (native) return (url: string) => new native(url);
  return async (url: string) => {
    // A variable specifier keeps bundlers and type checkers from requiring `ws`.
    const specifier = 'ws';
    const module = (await import(specifier)) as { default: new (url: string) => SocketLike };
    return new module.default(url);
  };
})();

/** An open, subscribed socket. */
export class Subscription {
  private readonly waiters = new Set<() => void>();
  private pending = false;
  private open = true;
  /** Resolves when the socket closes (by either side). */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(
    private readonly socket: SocketLike,
    onEvent: ((event: FactoryEvent) => void) | undefined,
  ) {
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    socket.onmessage = (message) => {
      const frame = parseFrame(message.data);
      if (!frame || typeof frame.type !== 'string' || 'action' in frame) return;
      onEvent?.(frame as unknown as FactoryEvent);
      this.pending = true;
      for (const wake of this.waiters) wake();
    };
    socket.onclose = () => this.ended();
    socket.onerror = () => this.ended();
  }

  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Resolves at the next event (or at once when one arrived since the last call), when the
   * socket closes, or when `timer` resolves, whichever is first.
   */
  async nextEvent(timer: Promise<void>): Promise<void> {
    if (this.pending || !this.open) {
      this.pending = false;
      return;
    }
    let wake!: () => void;
    const arrived = new Promise<void>((resolve) => {
      wake = resolve;
    });
    this.waiters.add(wake);
    try {
      await Promise.race([arrived, timer, this.closed]);
    } finally {
      this.waiters.delete(wake);
      this.pending = false;
    }
  }

  close(): void {
    if (!this.open) return;
    try {
      this.socket.close();
    } catch {
      // Already closing.
    }
    this.ended();
  }

  private ended() {
    this.open = false;
    this.markClosed();
    for (const wake of this.waiters) wake();
  }
}

/** Connects to the ticket's socket and subscribes; rejects if either fails within timeoutMs. */
export async function openSubscription(
  ticket: RealtimeTicket,
  filters: SubscriptionFilters,
  sockets: SocketFactory,
  onEvent: ((event: FactoryEvent) => void) | undefined,
  timeoutMs = 10_000,
): Promise<Subscription> {
  const separator = ticket.url.includes('?') ? '&' : '?';
  const socket = await sockets(`${ticket.url}${separator}ticket=${encodeURIComponent(ticket.ticket)}`);
  return new Promise<Subscription>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`No answer to the subscription in ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.onopen = socket.onmessage = socket.onerror = socket.onclose = null;
      try {
        socket.close();
      } catch {
        // Never opened.
      }
      reject(error);
    };
    socket.onopen = () => socket.send(JSON.stringify({ action: 'subscribe', filters }));
    socket.onerror = (event) =>
      fail(new Error(`The WebSocket failed: ${(event as { message?: string })?.message ?? 'error'}`));
    socket.onclose = () => fail(new Error('The WebSocket closed before the subscription was confirmed'));
    socket.onmessage = (message) => {
      const frame = parseFrame(message.data);
      if (frame?.action === 'subscribed') {
        clearTimeout(timer);
        resolve(new Subscription(socket, onEvent));
      } else if (frame?.action === 'error') {
        const error = frame.error as { message?: string } | undefined;
        fail(new Error(`The subscription was refused: ${error?.message ?? 'error'}`));
      }
    };
  });
}

function parseFrame(data: unknown): Record<string, unknown> | undefined {
  try {
    const text = typeof data === 'string' ? data : String(data);
    const frame: unknown = JSON.parse(text);
    return frame !== null && typeof frame === 'object' ? (frame as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
