/**
 * The event publisher: fed by the streams of the jobs, orders and operations tables, it turns
 * each batch of row changes into the factory's events (domain/factory-events.ts), keeps them for
 * GET /events (one item per batch) and puts them on the EventBridge bus. A failure fails the
 * batch; Lambda halves and retries it (TableStreamConsumer): delivery is at least once, and a
 * retried event keeps its `key`.
 */
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { EventBus } from '#adapters/event-bus';
import { EventStore } from '#adapters/event-store';
import { rowChangeOf, tableOfRecord } from '#adapters/job-changes';
import { type EventSourceKind, eventSources, type FactoryEventDraft } from '#domain/factory-events';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { logger } from '#shared/logger';

const store = new EventStore(requireEnv('EVENTS_TABLE'), envInt('EVENT_RETENTION_HOURS', 72));
const bus = new EventBus(requireEnv('EVENT_BUS_NAME'));
/** The source tables' names, by kind: a record's table names its kind of events. */
const kinds = new Map(
  Object.entries(requireJsonEnv<Record<EventSourceKind, string>>('EVENT_SOURCE_TABLES')).map(
    ([kind, table]) => [table, kind as EventSourceKind],
  ),
);

export const handler = async (event: DynamoDBStreamEvent): Promise<void> => {
  const drafts: FactoryEventDraft[] = event.Records.flatMap((record) => {
    const kind = kinds.get(tableOfRecord(record) ?? '');
    return kind ? eventSources[kind](rowChangeOf(record)) : [];
  });
  if (drafts.length === 0) return;
  const published = await store.publish(drafts, new Date());
  await bus.put(published);
  logger.debug('Events published', { records: event.Records.length, events: published.length });
};
