/**
 * An SDK request handler for the local cloud's own clients (event source pollers, the Step
 * Functions integrations, provisioning, the TTL sweeper): the signed request goes straight to the
 * edge's dispatch instead of over a loopback socket. Both ends of that socket lived on the main
 * thread, which the profile of a drain showed 91% busy; the SDK still builds, signs and parses
 * every call, and the edge still counts it and injects its faults. Functions keep calling the edge
 * over HTTP, as they would call AWS.
 */
import { Readable } from 'node:stream';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';
import type { Edge } from './edge.ts';

async function bodyOf(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Readable || Symbol.asyncIterator in (body as object)) {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  throw new Error(`in-process transport: unsupported request body ${typeof body}`);
}

function urlOf(request: HttpRequest): string {
  const query = Object.entries(request.query ?? {}).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) =>
      v === null ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(v)}`,
    ),
  );
  return `${request.path || '/'}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

export function inProcessTransport(
  edge: Pick<Edge, 'dispatch'>,
): RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request, options) {
      const signal = options?.abortSignal as AbortSignal | undefined;
      const aborted = () => Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      if (signal?.aborted) throw aborted();
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
      );
      const served = edge.dispatch({
        method: request.method,
        url: urlOf(request),
        headers,
        body: await bodyOf(request.body),
      });
      // A long poll may be abandoned (a poller stopping); the edge finishes it on its own.
      let onAbort: () => void = () => undefined;
      const response = await (signal
        ? Promise.race([
            served,
            new Promise<never>((_, reject) => {
              onAbort = () => reject(aborted());
              signal.addEventListener('abort', onAbort, { once: true });
            }),
          ]).finally(() => signal.removeEventListener('abort', onAbort))
        : served);
      const body = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
      return {
        response: {
          statusCode: response.status,
          reason: undefined,
          headers: { ...response.headers, 'content-length': String(body.length) },
          body: Readable.from([body]),
        },
      };
    },
  };
}
