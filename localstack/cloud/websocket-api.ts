/**
 * API Gateway WebSocket APIs for the local cloud, from the template, on the edge: clients
 * connect to `ws://<edge>/realtime/<api id>/<stage>` (the API's ApiEndpoint and stage, as the
 * template names them); `$connect` runs before the upgrade is accepted — an answer of 4xx/5xx, or
 * a failed invocation, refuses it with that status, as API Gateway does; each text frame is
 * routed by the route selection expression (`$request.body.<field>`) to its route, else
 * `$default`, else answered with API Gateway's "Forbidden" frame; a close runs `$disconnect`.
 * The connections management API (`POST|GET|DELETE …/@connections/{id}`) is served on the same
 * path, so `ApiGatewayManagementApiClient({endpoint: <stage url over http>})` works unchanged;
 * an unknown connection is 410 GoneException. Limits not modelled: the 2-hour connection
 * lifetime, the 10-minute idle timeout, frame size limits.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import type { InvocationResult } from './lambda-runtime.ts';

export interface LocalWebSocketApi {
  readonly apiId: string;
  readonly stage: string;
  readonly routeSelectionExpression: string;
  /** Route key ($connect, $disconnect, $default, or an action) → function name. */
  readonly routes: ReadonlyMap<string, string>;
}

interface Connection {
  readonly id: string;
  readonly api: LocalWebSocketApi;
  readonly socket: WebSocket;
  readonly connectedAt: number;
  readonly sourceIp: string;
  lastActiveAt: number;
}

type Invoke = (functionName: string, event: unknown) => Promise<InvocationResult>;

const pathOf = (url: string) => (url.split('?')[0] ?? '').replace(/\/+$/, '');

export class LocalWebSocketApis {
  private readonly server = new WebSocketServer({ noServer: true });
  private readonly connections = new Map<string, Connection>();

  constructor(
    private readonly apis: readonly LocalWebSocketApi[],
    private readonly invoke: Invoke,
    private readonly identity: { region: string; accountId: string },
    private readonly log: (line: string) => void,
  ) {}

  private apiAt(path: string): LocalWebSocketApi | undefined {
    return this.apis.find((api) => path === `/realtime/${api.apiId}/${api.stage}`);
  }

  /** Serves the upgrades of `server` (the edge) for the APIs' paths. */
  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head).catch((error: Error) => {
        this.log(`[websocket] connect failed: ${error.message}`);
        socket.destroy();
      });
    });
  }

  private requestContext(api: LocalWebSocketApi, connectionId: string, routeKey: string, eventType: string) {
    return {
      routeKey,
      eventType,
      connectionId,
      apiId: api.apiId,
      stage: api.stage,
      domainName: 'localhost',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      extendedRequestId: randomUUID(),
      messageDirection: 'IN',
    };
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const api = this.apiAt(pathOf(url.pathname));
    if (!api) return refuse(socket, 404, 'Not Found');
    const connectionId = randomBytes(9).toString('base64');
    const connect = api.routes.get('$connect');
    if (connect) {
      const outcome = await this.invoke(connect, {
        requestContext: {
          ...this.requestContext(api, connectionId, '$connect', 'CONNECT'),
          connectedAt: Date.now(),
          identity: { sourceIp: request.socket.remoteAddress ?? '127.0.0.1' },
        },
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)])),
        queryStringParameters: Object.fromEntries(url.searchParams),
        isBase64Encoded: false,
      });
      const status = outcome.ok
        ? Number((outcome.result as { statusCode?: number } | null)?.statusCode ?? 200)
        : 500;
      if (status >= 400)
        return refuse(socket, status, status === 500 ? 'Internal Server Error' : 'Forbidden');
    }
    this.server.handleUpgrade(request, socket, head, (ws) => {
      const connection: Connection = {
        id: connectionId,
        api,
        socket: ws,
        connectedAt: Date.now(),
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        lastActiveAt: Date.now(),
      };
      this.connections.set(connectionId, connection);
      ws.on('message', (data, isBinary) => {
        connection.lastActiveAt = Date.now();
        void this.message(
          connection,
          isBinary ? Buffer.from(data as Buffer).toString('base64') : String(data),
        );
      });
      ws.on('close', () => {
        this.connections.delete(connectionId);
        const disconnect = api.routes.get('$disconnect');
        if (disconnect)
          void this.invoke(disconnect, {
            requestContext: this.requestContext(api, connectionId, '$disconnect', 'DISCONNECT'),
            isBase64Encoded: false,
          });
      });
    });
  }

  private async message(connection: Connection, body: string): Promise<void> {
    const { api } = connection;
    const field = /^\$request\.body\.(.+)$/.exec(api.routeSelectionExpression)?.[1];
    let selected: string | undefined;
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      selected = field
        ? String(field.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], parsed))
        : undefined;
    } catch {
      selected = undefined;
    }
    const routeKey =
      selected && api.routes.has(selected) ? selected : api.routes.has('$default') ? '$default' : undefined;
    if (!routeKey) {
      connection.socket.send(
        JSON.stringify({ message: 'Forbidden', connectionId: connection.id, requestId: randomUUID() }),
      );
      return;
    }
    const outcome = await this.invoke(api.routes.get(routeKey) as string, {
      requestContext: this.requestContext(api, connection.id, routeKey, 'MESSAGE'),
      body,
      isBase64Encoded: false,
    });
    if (!outcome.ok)
      connection.socket.send(
        JSON.stringify({
          message: 'Internal server error',
          connectionId: connection.id,
          requestId: randomUUID(),
        }),
      );
  }

  /** The connections management API: PostToConnection, GetConnection, DeleteConnection. */
  readonly manage = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const [, , apiId, stage, , rawId] = pathOf(request.url).split('/');
    const id = decodeURIComponent(rawId ?? '');
    const connection = this.connections.get(id);
    if (!connection || connection.api.apiId !== apiId || connection.api.stage !== stage)
      return {
        status: 410,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' },
        body: JSON.stringify({ message: `Connection ${id} is gone` }),
      };
    switch (request.method) {
      case 'POST':
        connection.socket.send(request.body.toString());
        return { status: 200, headers: {}, body: '' };
      case 'DELETE':
        connection.socket.close(1000);
        return { status: 204, headers: {}, body: '' };
      default:
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            ConnectedAt: new Date(connection.connectedAt).toISOString(),
            LastActiveAt: new Date(connection.lastActiveAt).toISOString(),
            Identity: { SourceIp: connection.sourceIp },
          }),
        };
    }
  };

  /** The management API resource IAM checks (execute-api:ManageConnections). */
  resourceOf(request: BufferedRequest): string {
    const [, , apiId, stage, , id] = pathOf(request.url).split('/');
    return `arn:aws:execute-api:${this.identity.region}:${this.identity.accountId}:${apiId}/${stage}/${request.method}/@connections/${id}`;
  }

  close(): void {
    for (const connection of this.connections.values()) connection.socket.terminate();
    this.connections.clear();
    this.server.close();
  }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
