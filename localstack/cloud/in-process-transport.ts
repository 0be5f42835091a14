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
import type { Edge, ServiceResponse } from './edge.ts';

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

const abortError = () => Object.assign(new Error('Request aborted'), { name: 'AbortError' });

/**
 * The edge's answer, or an AbortError as soon as the signal aborts: a long poll may be abandoned
 * (a poller stopping); the edge finishes it on its own.
 */
function untilAborted(
  served: Promise<ServiceResponse>,
  signal: AbortSignal | undefined,
): Promise<ServiceResponse> {
  if (!signal) return served;
  let onAbort: () => void = () => undefined;
  return Promise.race([
    served,
    new Promise<never>((_, reject) => {
      onAbort = () => reject(abortError());
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  ]).finally(() => signal.removeEventListener('abort', onAbort));
}

export function inProcessTransport(
  edge: Pick<Edge, 'dispatch'>,
): RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    async handle(request, options) {
      const signal = options?.abortSignal as AbortSignal | undefined;
      if (signal?.aborted) throw abortError();
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
      );
      const served = edge.dispatch({
        method: request.method,
        url: urlOf(request),
        headers,
        body: await bodyOf(request.body),
      });
      const response = await untilAborted(served, signal);
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

/** The `send` of an SDK client, as the local cloud's pollers call it. */
export interface CommandSender {
  send(command: { input: object }, options?: { abortSignal?: AbortSignal }): Promise<never>;
  destroy(): void;
}

/**
 * A client for the JSON protocols (SQS, DynamoDB Streams) that hands the command's input to the
 * edge as the request body and returns the parsed answer, for the local cloud's own pollers:
 * Lambda's event source pollers are AWS's service, not the user's SDK, and building, signing and
 * parsing every ReceiveMessage, DeleteMessageBatch and GetRecords through the SDK was a tenth of
 * the main thread under load. The edge still counts each call, checks it and injects its faults;
 * the request names the local cloud's own credentials as the SDK's would. Inputs must be plain
 * JSON (no binary fields): what these pollers send.
 */
export function jsonProtocolClient(
  edge: Pick<Edge, 'dispatch'>,
  service: { readonly targetPrefix: string; readonly signingName: string },
  identity: { readonly region: string; readonly accessKeyId: string },
): CommandSender {
  const day = () => new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return {
    async send(command, options = {}) {
      const signal = options.abortSignal;
      if (signal?.aborted) throw abortError();
      const action = command.constructor.name.replace(/Command$/, '');
      const served = edge.dispatch({
        method: 'POST',
        url: '/',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `${service.targetPrefix}.${action}`,
          authorization: `AWS4-HMAC-SHA256 Credential=${identity.accessKeyId}/${day()}/${identity.region}/${service.signingName}/aws4_request, SignedHeaders=content-type;host;x-amz-target, Signature=local`,
        },
        body: Buffer.from(JSON.stringify(command.input)),
      });
      const response = await untilAborted(served, signal);
      const text = response.body.toString();
      const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (response.status >= 300) {
        const type = String(parsed.__type ?? parsed.code ?? 'ServiceError');
        throw Object.assign(new Error(String(parsed.message ?? parsed.Message ?? type)), {
          name: type.split('#').pop() as string,
          $metadata: { httpStatusCode: response.status },
        });
      }
      return parsed as never;
    },
    destroy: () => undefined,
  };
}
