/**
 * The WebSocket API's routes (one function): `$connect` takes a ticket (`?ticket=`) and refuses
 * the connection (401) without a good one — unknown, used or expired; `subscribe` sets the
 * connection's filters and answers `{"action":"subscribed","filters":…}` (or
 * `{"action":"error","error":{code,message,details}}`); `$disconnect` forgets the connection.
 * Events are pushed by the event publisher (workers/event-publisher.ts).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { RealtimeSockets } from '#adapters/realtime-sockets';
import { RealtimeStore } from '#adapters/realtime-store';
import { subscribeFrameSchema } from '#domain/realtime';
import { requireEnv } from '#shared/env';
import { logger } from '#shared/logger';

const store = new RealtimeStore(requireEnv('REALTIME_TABLE'));
const sockets = new RealtimeSockets(requireEnv('REALTIME_URL'));

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & {
  queryStringParameters?: Record<string, string | undefined>;
};

const refuse = (statusCode: number, message: string): APIGatewayProxyResultV2 => ({
  statusCode,
  body: JSON.stringify({
    error: { code: statusCode === 401 ? 'BAD_TICKET' : 'REFUSED', message, details: null },
  }),
});

export const handler = middy<ConnectEvent, APIGatewayProxyResultV2>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const { routeKey, connectionId } = event.requestContext;
    if (routeKey === '$connect') {
      const ticket = event.queryStringParameters?.ticket;
      if (!ticket) return refuse(401, 'Connect with ?ticket= (POST /realtime/tickets issues one)');
      const holder = await store.useTicket(ticket, new Date());
      if (!holder)
        return refuse(
          401,
          'The ticket is unknown, used or expired: ask POST /realtime/tickets for a new one',
        );
      await store.putConnection(connectionId, holder, new Date());
      logger.info('Socket connected', { connectionId, keyId: holder.keyId, role: holder.role });
      return { statusCode: 200 };
    }
    if (routeKey === '$disconnect') {
      await store.removeConnection(connectionId);
      return { statusCode: 200 };
    }
    // subscribe (and any other action, through $default when it is routed here)
    let frame: unknown;
    try {
      frame = JSON.parse(event.body ?? '');
    } catch {
      frame = undefined;
    }
    const parsed = subscribeFrameSchema.safeParse(frame);
    if (!parsed.success) {
      await sockets.send(connectionId, {
        action: 'error',
        error: {
          code: 'INVALID_FRAME',
          message: 'Send {"action":"subscribe","filters":{"jobId"?,"orderId"?,"queue"?,"types"?:[…]}}',
          details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
        },
      });
      return { statusCode: 200 };
    }
    const known = await store.subscribe(connectionId, parsed.data.filters);
    if (known) await sockets.send(connectionId, { action: 'subscribed', filters: parsed.data.filters });
    return { statusCode: 200 };
  });
