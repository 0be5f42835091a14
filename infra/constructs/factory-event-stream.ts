import { Duration, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type Archive, EventBus } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { busSource, type EventSourceKind } from '../../functions/domain/factory-events.ts';
import { TableStreamConsumer } from './table-stream-consumer.ts';

export interface FactoryEventStreamProps {
  /** The tables whose changes make the events, by kind (domain/factory-events.ts). */
  readonly sources: Readonly<Record<EventSourceKind, ITable>>;
  /** The publisher's environment (its tables: the events table). */
  readonly environment: Record<string, string>;
  /** How long the bus's archive keeps every event (the audit trail). @default 90 days */
  readonly archiveRetention?: Duration;
}

/**
 * The factory's event stream (docs/events.md): the tables' DynamoDB streams feed a publisher,
 * which keeps recent events for GET /events and puts every event on an EventBridge bus. Outside
 * consumers subscribe to the bus with rules (source `robot-factory`, detail-type the event
 * type); an archive on the bus keeps them all for replay and audit.
 */
export class FactoryEventStream extends Construct {
  public readonly bus: EventBus;
  public readonly archive: Archive;
  public readonly publisher: TableStreamConsumer;

  constructor(scope: Construct, id: string, props: FactoryEventStreamProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { eventBusName: `${Stack.of(this).stackName}-events` });
    this.archive = this.bus.archive('Archive', {
      description: 'Every factory event, for audit and replay',
      eventPattern: { source: [busSource] },
      retention: props.archiveRetention ?? Duration.days(90),
    });
    this.publisher = new TableStreamConsumer(this, 'Publisher', {
      tables: Object.values(props.sources),
      entry: 'workers/event-publisher.ts',
      description: 'Event publisher: factory events from the table streams, to GET /events and the bus',
      environment: {
        ...props.environment,
        EVENT_BUS_NAME: this.bus.eventBusName,
        EVENT_SOURCE_TABLES: Stack.of(this).toJsonString(
          Object.fromEntries(Object.entries(props.sources).map(([kind, table]) => [kind, table.tableName])),
        ),
      },
      // Pushed to sockets within 500 ms (seed 004): no batching window; small batches.
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(0),
    });
    this.bus.grantPutEventsTo(this.publisher.function);
  }
}
