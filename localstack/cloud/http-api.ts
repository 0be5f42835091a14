/**
 * API Gateway HTTP API (payload format 2.0) for the template's routes. Routing follows API
 * Gateway: the most specific route wins (literal segments before {param}, {proxy+} last).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpAuthorizers, type LocalAuthorizer } from './http-authorizer.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface LocalRoute {
  readonly method: string;
  readonly path: string;
  readonly functionName: string;
  /** The route's Lambda authorizer; none: the route is open (AuthorizationType NONE). */
  readonly authorizer?: LocalAuthorizer;
}

interface CompiledRoute extends LocalRoute {
  readonly segments: string[];
  readonly score: number[];
}

export interface HttpApiOptions {
  readonly port: number;
  readonly apiId: string;
  readonly accountId: string;
  readonly cors?: { allowOrigins: string[]; allowMethods: string[]; allowHeaders: string[] };
  readonly log: (line: string) => void;
}

const compile = (route: LocalRoute): CompiledRoute => {
  const segments = route.path.split('/').filter(Boolean);
  return {
    ...route,
    segments,
    score: segments.map((s) => (s.endsWith('+}') ? 2 : s.startsWith('{') ? 1 : 0)),
  };
};

const bySpecificity = (a: CompiledRoute, b: CompiledRoute) => {
  for (let i = 0; i < Math.max(a.score.length, b.score.length); i++) {
    const diff = (a.score[i] ?? 3) - (b.score[i] ?? 3);
    if (diff !== 0) return diff;
  }
  return a.method === 'ANY' ? 1 : b.method === 'ANY' ? -1 : 0;
};

/** A path segment that is not valid percent-encoding: API Gateway answers 400, so do we. */
class BadPathEncoding extends Error {}

const decodeSegment = (part: string): string => {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadPathEncoding(part);
  }
};

const errorBody = (code: string, message: string) =>
  JSON.stringify({ error: { code, message, details: null } });

function match(route: CompiledRoute, method: string, parts: string[]): Record<string, string> | undefined {
  if (route.method !== 'ANY' && route.method !== method) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i] as string;
    if (segment.endsWith('+}')) {
      if (i >= parts.length) return undefined;
      params[segment.slice(1, -2)] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith('{')) params[segment.slice(1, -1)] = decodeSegment(part);
    else if (segment !== part) return undefined;
  }
  return parts.length === route.segments.length ? params : undefined;
}

export async function startHttpApi(
  routes: LocalRoute[],
  runtime: LambdaRuntime,
  options: HttpApiOptions,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const compiled = routes
    .filter((r) => r.path !== '$default')
    .map(compile)
    .sort(bySpecificity);
  const fallback = routes.find((r) => r.path === '$default');
  const authorizers = new HttpAuthorizers(
    runtime,
    (routeKey) =>
      `arn:aws:execute-api:us-east-1:${options.accountId}:${options.apiId}/$default/${routeKey.replace(' ', '')}`,
  );
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      // No request may take the edge down: whatever goes wrong is this request's 500.
      handle(req, res, Buffer.concat(chunks)).catch((error: Error) => {
        options.log(`[http] ${req.method} ${req.url} crashed the handler: ${error.stack ?? error.message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(errorBody('INTERNAL', 'The local HTTP API hit an internal error.'));
      });
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(errorBody('BAD_REQUEST', 'The request target is not a valid URL.'));
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const corsHeaders: Record<string, string> = options.cors
      ? { 'access-control-allow-origin': options.cors.allowOrigins.join(',') }
      : {};
    if (method === 'OPTIONS' && options.cors) {
      res.writeHead(204, {
        ...corsHeaders,
        'access-control-allow-methods': options.cors.allowMethods.join(','),
        'access-control-allow-headers': options.cors.allowHeaders.join(','),
      });
      res.end();
      return;
    }
    const parts = url.pathname.split('/').filter(Boolean);
    let route: LocalRoute | undefined;
    let pathParameters: Record<string, string> | undefined;
    try {
      for (const candidate of compiled) {
        pathParameters = match(candidate, method, parts);
        if (pathParameters) {
          route = candidate;
          break;
        }
      }
    } catch (error) {
      if (!(error instanceof BadPathEncoding)) throw error;
      res.writeHead(400, { 'content-type': 'application/json', ...corsHeaders });
      res.end(errorBody('BAD_REQUEST', 'The request path is not valid percent-encoding.'));
      return;
    }
    if (!route && fallback) {
      route = fallback;
      pathParameters = {};
    }
    if (!route || !pathParameters) {
      res.writeHead(404, { 'content-type': 'application/json', ...corsHeaders });
      res.end(JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    const isText =
      body.length === 0 || /json|text|xml|x-www-form-urlencoded/.test(contentType) || contentType === '';
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [
        k.toLowerCase(),
        Array.isArray(v) ? v.join(',') : String(v),
      ]),
    );
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
    const now = new Date();
    const routeKey = route.path === '$default' ? '$default' : `${route.method} ${route.path}`;
    const event = {
      version: '2.0',
      routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
      ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
      requestContext: {
        accountId: options.accountId,
        apiId: options.apiId,
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'localhost',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      },
      ...(body.length ? { body: isText ? body.toString() : body.toString('base64') } : {}),
      isBase64Encoded: !isText,
    };
    if (route.authorizer) {
      const verdict = await authorizers.authorize(route.authorizer, event);
      if (!verdict.allowed) {
        res.writeHead(verdict.status, { 'content-type': 'application/json', ...corsHeaders });
        res.end(verdict.body);
        options.log(
          `[http] ${method} ${url.pathname} → ${verdict.status} by the authorizer (${Date.now() - started} ms)`,
        );
        return;
      }
      (event.requestContext as Record<string, unknown>).authorizer = { lambda: verdict.context };
    }
    const outcome = await runtime.invoke(route.functionName, event);
    let status = 500;
    let responseHeaders: Record<string, string> = { 'content-type': 'application/json' };
    let responseBody: string | Buffer = JSON.stringify({ message: 'Internal Server Error' });
    if (outcome.ok) {
      const result = outcome.result as
        | {
            statusCode?: number;
            headers?: Record<string, string>;
            body?: string;
            isBase64Encoded?: boolean;
          }
        | string
        | null;
      if (result && typeof result === 'object' && 'statusCode' in result) {
        status = result.statusCode ?? 200;
        responseHeaders = result.headers ?? {};
        responseBody = result.isBase64Encoded
          ? Buffer.from(result.body ?? '', 'base64')
          : (result.body ?? '');
      } else {
        // Payload 2.0 without statusCode: API Gateway answers 200 with the result as JSON.
        status = 200;
        responseBody = typeof result === 'string' ? result : JSON.stringify(result);
      }
    } else {
      options.log(`[http] ${routeKey} failed: ${outcome.error.errorType}: ${outcome.error.errorMessage}`);
    }
    res.writeHead(status, { ...corsHeaders, ...responseHeaders });
    res.end(responseBody);
    options.log(`[http] ${method} ${url.pathname} → ${status} (${Date.now() - started} ms)`);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}`,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
