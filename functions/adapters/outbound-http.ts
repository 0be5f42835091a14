/**
 * The factory's outbound HTTP: every request a job makes to a URL goes through here. The
 * destination is judged on the address the connection is actually made to (a lookup hook, so a
 * name cannot resolve one way for the check and another for the connect) and again on every
 * redirect, by functions/domain/outbound-policy.ts.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AllowList, judgeDestination } from '#domain/outbound-policy';

/** The destination is not one the factory may call: retrying cannot change that. */
export class OutboundRefused extends Error {
  override readonly name = 'OutboundRefused';
}

export interface OutboundInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** @default 10 MiB */
  readonly maxBytes?: number;
  /** @default 5 */
  readonly maxRedirects?: number;
}

export interface OutboundResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

const guardedLookup =
  (allow: AllowList): LookupFunction =>
  (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      // Every address the name has must be allowed: a connection may try any of them.
      for (const { address } of addresses) {
        const verdict = judgeDestination(hostname, address, allow);
        if (!verdict.allowed) return callback(new OutboundRefused(verdict.reason), '', 0);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses as [LookupAddress];
      return callback(null, first.address, first.family);
    });
  };

function once(url: URL, init: OutboundInit, allow: AllowList): Promise<OutboundResponse> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address is connected to without a lookup: judge it here.
  if (isIP(host)) {
    const verdict = judgeDestination(host, host, allow);
    if (!verdict.allowed) return Promise.reject(new OutboundRefused(verdict.reason));
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const limit = init.maxBytes ?? 10 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: init.method ?? 'GET',
        headers: init.headers,
        lookup: guardedLookup(allow),
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > limit) {
            request.destroy(new Error(`The answer of ${url.origin} is larger than ${limit} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            url: url.toString(),
            headers: response.headers,
            body: Buffer.concat(chunks),
          });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

/** One request, following redirects (each judged anew), as fetch would with redirect: 'follow'. */
export async function outboundRequest(
  target: string,
  init: OutboundInit,
  allow: AllowList,
): Promise<OutboundResponse> {
  let url = new URL(target);
  let current = init;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new OutboundRefused(`destination not allowed: ${url.protocol} URLs are not called`);
    const response = await once(url, current, allow);
    const location = response.headers.location;
    if (response.status < 300 || response.status >= 400 || response.status === 304 || !location)
      return response;
    if (hop >= (init.maxRedirects ?? 5))
      throw new Error(`More than ${init.maxRedirects ?? 5} redirects from ${target}`);
    url = new URL(String(location), url);
    // 303 (and 301/302 after a POST, as browsers and fetch do) continue as a GET without a body.
    const method = (current.method ?? 'GET').toUpperCase();
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && method === 'POST')
    )
      current = { ...current, method: 'GET', body: undefined };
  }
}
