/**
 * The local cloud's single AWS endpoint (LocalStack-style): SDK clients point AWS_ENDPOINT_URL
 * here; each request is counted and handed to the backend that serves its service.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallCounter } from './call-counter.ts';

export interface BufferedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

const parsedBodies = new WeakMap<BufferedRequest, unknown>();
/**
 * A request's JSON body, parsed once for all who read it: local IAM reads the table or queue a
 * call names, then the service reads the call (a batch write's body was parsed twice). Throws as
 * JSON.parse does; readers must not change what it returns.
 */
export function jsonBody(request: BufferedRequest): unknown {
  if (parsedBodies.has(request)) return parsedBodies.get(request);
  const value: unknown = JSON.parse(request.body.toString());
  parsedBodies.set(request, value);
  return value;
}

export interface ServiceResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

/** Either a URL to proxy to, or an in-process handler. */
export type Backend = string | ((request: BufferedRequest) => Promise<ServiceResponse>);

export interface EdgeBackends {
  readonly dynamodb: Backend;
  readonly streams: Backend;
  readonly sqs: Backend;
  readonly states: Backend;
  readonly lambda: Backend;
  readonly s3: Backend;
  readonly events: Backend;
  /** API Gateway's connections management API of the WebSocket APIs (websocket-api.ts). */
  readonly 'execute-api': Backend;
  /** SNS topics (sns-topics.ts). */
  readonly sns: Backend;
}

/** Local-only hooks: admin routes, IAM, and injected failures of service calls. */
export interface EdgeHooks {
  handle(request: BufferedRequest): Promise<ServiceResponse | undefined>;
  /** The refusal of a call its caller's policies do not allow (local-iam.ts). */
  refusal(service: string, action: string, request: BufferedRequest): ServiceResponse | undefined;
  injectedFailure(service: string, action: string, request: BufferedRequest): ServiceResponse | undefined;
}

const targetPrefixes: Record<string, keyof EdgeBackends> = {
  DynamoDB_20120810: 'dynamodb',
  DynamoDBStreams_20120810: 'streams',
  AmazonSQS: 'sqs',
  AWSStepFunctions: 'states',
  AWSEvents: 'events',
};

export function identify(
  request: BufferedRequest,
): { service: keyof EdgeBackends; action: string } | undefined {
  // S3 has no target header; SigV4's credential scope names the service.
  const authorization = String(request.headers.authorization ?? '');
  if (authorization.includes('/s3/aws4_request')) {
    const key = (request.url.split('?')[0] ?? '').split('/').filter(Boolean).length > 1;
    return { service: 's3', action: `${request.method} ${key ? 'object' : 'bucket'}` };
  }
  // SNS speaks the query protocol (Action=… in a form) like SQS's old one: its scope tells them apart.
  if (authorization.includes('/sns/aws4_request'))
    return { service: 'sns', action: new URLSearchParams(request.body.toString()).get('Action') ?? '' };
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix, action] = target.split('.');
    const service = prefix ? targetPrefixes[prefix] : undefined;
    if (service && action) return { service, action };
  }
  const path = request.url.split('?')[0] ?? '';
  if (/^\/realtime\/[^/]+\/[^/]+\/@connections\/[^/]+\/?$/.test(path))
    return { service: 'execute-api', action: 'ManageConnections' };
  const lambda = path.match(
    /^\/20\d\d-\d\d-\d\d\/(functions|event-source-mappings)(?:\/([^/]+))?(?:\/([^/]+))?/,
  );
  if (lambda) {
    const [, collection, id, sub] = lambda;
    return {
      service: 'lambda',
      action: `${request.method} ${collection}${id ? '/{id}' : ''}${sub ? `/${sub}` : ''}`,
    };
  }
  const form = new URLSearchParams(request.body.toString());
  const action = form.get('Action');
  if (action) return { service: 'sqs', action };
  return undefined;
}

async function forward(target: string, request: BufferedRequest): Promise<ServiceResponse> {
  const url = new URL(request.url, target);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      // The Host header is kept: moto builds queue URLs from it, so they point at the edge.
      { method: request.method, headers: request.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 500,
            headers: Object.fromEntries(
              Object.entries(response.headers)
                .filter(([k]) => !['content-length', 'transfer-encoding', 'connection'].includes(k))
                .map(([k, v]) => [k, String(v)]),
            ),
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

export interface Edge {
  readonly url: string;
  readonly server: Server;
  /** Serves one request as the HTTP endpoint would: hooks, counting, faults, the backend. */
  dispatch(request: BufferedRequest): Promise<ServiceResponse>;
  close(): Promise<void>;
}

const json = (status: number, type: string, message: string): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({ __type: type, message }),
});

export async function startEdge(
  port: number,
  backends: EdgeBackends,
  counter: CallCounter,
  hooks?: EdgeHooks,
): Promise<Edge> {
  // Calls under way: a stop waits for them, so no backend is closed under a call it serves (a
  // write still in dynalite when its database closed threw "Database is closed" at exit).
  let inFlight = 0;
  let drained: (() => void)[] = [];
  const dispatch = async (request: BufferedRequest): Promise<ServiceResponse> => {
    inFlight++;
    try {
      return await serve(request);
    } finally {
      inFlight--;
      if (inFlight === 0) for (const wake of drained.splice(0)) wake();
    }
  };
  const serve = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const local = await hooks?.handle(request);
    if (local) return local;
    const identified = identify(request);
    if (!identified)
      return json(400, 'UnknownOperationException', 'The local cloud does not serve this request');
    counter.record(identified.service, identified.action);
    const backend = backends[identified.service];
    try {
      return (
        hooks?.refusal(identified.service, identified.action, request) ??
        hooks?.injectedFailure(identified.service, identified.action, request) ??
        (typeof backend === 'string' ? await forward(backend, request) : await backend(request))
      );
    } catch (error) {
      return json(500, 'InternalFailure', (error as Error).message);
    }
  };
  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const response = await dispatch({
        method: incoming.method ?? 'GET',
        url: incoming.url ?? '/',
        headers: incoming.headers,
        body: Buffer.concat(chunks),
      });
      outgoing.writeHead(response.status, response.headers);
      outgoing.end(response.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    server,
    dispatch,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      if (inFlight > 0)
        await Promise.race([
          new Promise<void>((resolve) => drained.push(resolve)),
          // Not unref'd: a call that never ends (a long poll whose queue stops after the edge)
          // must not leave this await pending on an empty event loop (the bench exited 13).
          new Promise((resolve) => setTimeout(resolve, 5000)),
        ]);
      drained = [];
    },
  };
}
