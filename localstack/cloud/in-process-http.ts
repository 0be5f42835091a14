/**
 * Calls a Node HTTP request listener (dynalite's) with the edge's already-buffered request,
 * without a socket: the edge used to forward every DynamoDB call over a second loopback HTTP
 * connection, and that hop (parse, serialise, socket I/O on the same thread) was a large share
 * of the local cloud's CPU. The listener sees the same method, URL, headers and body.
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { BufferedRequest, ServiceResponse } from './edge.ts';

type Listener = (request: unknown, response: unknown) => void;
const framing = new Set(['content-length', 'transfer-encoding', 'connection']);

export function inProcess(server: Server): (request: BufferedRequest) => Promise<ServiceResponse> {
  const listener = server.listeners('request')[0] as Listener | undefined;
  if (!listener) throw new Error('the server has no request listener to call in process');
  return (request) =>
    new Promise((resolve, reject) => {
      const incoming = Object.assign(new EventEmitter(), {
        method: request.method,
        url: request.url,
        headers: request.headers,
      });
      const headers: Record<string, string> = {};
      const outgoing = {
        statusCode: 200,
        setHeader(name: string, value: unknown) {
          // The edge frames the response itself, as it does for a forwarded one.
          const key = name.toLowerCase();
          if (!framing.has(key)) headers[key] = String(value);
        },
        end(body?: string | Buffer) {
          resolve({ status: outgoing.statusCode, headers, body: body ?? '' });
        },
      };
      try {
        listener.call(server, incoming, outgoing);
      } catch (error) {
        reject(error);
        return;
      }
      // The listener subscribes to data/end synchronously; its action callbacks run later.
      if (request.body.length > 0) incoming.emit('data', request.body);
      incoming.emit('end');
    });
}
