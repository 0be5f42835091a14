/**
 * The factory's EventBridge bus: every published event as one entry (source `robot-factory`,
 * detail-type the event's type, detail the event), for rules of outside consumers and the
 * archive. PutEvents takes 10 entries per call; entries it refuses are sent again.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { busSource, type FactoryEvent } from '#domain/factory-events';

import { captured, clientDefaults } from './aws-clients.ts';

let client: EventBridgeClient | undefined;
const events = () => {
  client ??= captured(new EventBridgeClient(clientDefaults));
  return client;
};

const perCall = 10;
const attempts = 3;

export class EventBus {
  constructor(private readonly busName: string) {}

  async put(published: readonly FactoryEvent[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = published.map((event) => ({
      EventBusName: this.busName,
      Source: busSource,
      DetailType: event.type,
      Detail: JSON.stringify(event),
      Time: new Date(event.at),
    }));
    await Promise.all(
      Array.from({ length: Math.ceil(entries.length / perCall) }, (_, i) =>
        this.send(entries.slice(i * perCall, (i + 1) * perCall)),
      ),
    );
  }

  private async send(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    for (let attempt = 1; pending.length > 0; attempt++) {
      const { Entries = [], FailedEntryCount = 0 } = await events().send(
        new PutEventsCommand({ Entries: pending }),
      );
      if (FailedEntryCount === 0) return;
      const failed = pending.filter((_, i) => Entries[i]?.ErrorCode);
      if (attempt >= attempts)
        throw new Error(
          `PutEvents refused ${failed.length} entries after ${attempts} attempts: ${Entries.find((e) => e.ErrorCode)?.ErrorMessage}`,
        );
      pending = failed;
    }
  }
}
