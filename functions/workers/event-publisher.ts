/**
 * The event publisher: fed by the streams of the jobs, orders and operations tables, it turns
 * each batch of row changes into the factory's events (domain/factory-events.ts), keeps them for
 * GET /events (one item per batch), puts them on the EventBridge bus and pushes them to the
 * subscribed WebSockets (domain/realtime.ts), all three at once. A failed store or put fails the batch; Lambda
 * halves and retries it (TableStreamConsumer): delivery is at least once, and a retried event
 * keeps its `key`. Pushing is best effort: a socket that misses a frame reconnects with
 * GET /events?after=; a gone connection is forgotten.
 *
 * Pushing here, not from a rule on the bus, costs one connections read per batch instead of a
 * Lambda invocation per event, and skips the bus's delivery delay: the frames carry the same ids
 * as GET /events.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { EventBus } from '#adapters/event-bus';
import { EventStore } from '#adapters/event-store';
import { rowChangeOf, tableOfRecord } from '#adapters/job-changes';
import { RealtimeSockets } from '#adapters/realtime-sockets';
import { RealtimeStore } from '#adapters/realtime-store';
import {
  type EventSourceKind,
  eventSources,
  type FactoryEvent,
  type FactoryEventDraft,
} from '#domain/factory-events';
import { deliveriesOf } from '#domain/realtime';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { logger } from '#shared/logger';

const store = new EventStore(requireEnv('EVENTS_TABLE'), envInt('EVENT_RETENTION_HOURS', 72));
const bus = new EventBus(requireEnv('EVENT_BUS_NAME'));
const connections = new RealtimeStore(requireEnv('REALTIME_TABLE'));
const sockets = new RealtimeSockets(requireEnv('REALTIME_URL'));
/** The source tables' names, by kind: a record's table names its kind of events. */
const kinds = new Map(
  Object.entries(requireJsonEnv<Record<EventSourceKind, string>>('EVENT_SOURCE_TABLES')).map(
    ([kind, table]) => [table, kind as EventSourceKind],
  ),
);

/** Sends each subscribed connection its matching events, in order; returns the frames sent. */
async function push(published: FactoryEvent[]): Promise<number> {
  let sent = 0;
  try {
    const deliveries = deliveriesOf(published, await connections.subscribers());
    await Promise.all(
      deliveries.map(async ({ connectionId, events }) => {
        for (const e of events) {
          if (!(await sockets.send(connectionId, e))) return connections.removeConnection(connectionId);
          sent++;
        }
      }),
    );
  } catch (error) {
    logger.warn('Pushing events failed; sockets catch up with GET /events', {
      error: (error as Error).message,
    });
  }
  return sent;
}

export const handler = middy<DynamoDBStreamEvent, void>()
  .use(injectLambdaContext(logger))
  .handler(async (event) => {
    const drafts: FactoryEventDraft[] = event.Records.flatMap((record) => {
      const kind = kinds.get(tableOfRecord(record) ?? '');
      return kind ? eventSources[kind](rowChangeOf(record)) : [];
    });
    if (drafts.length === 0) return;
    // Stored, put on the bus and pushed at once: a socket sees an event as soon as it can.
    const { events: published, store: write } = store.prepare(drafts, new Date());
    const [pushed] = await Promise.all([push(published), write(), bus.put(published)]);
    logger.debug('Events published', { records: event.Records.length, events: published.length, pushed });
  });
