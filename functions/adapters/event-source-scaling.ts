/**
 * Worker concurrency through the Lambda API (ScalingConfig.MaximumConcurrency and Enabled of the
 * queues' event source mappings) and queue depth through SQS. The local cloud serves the same
 * calls, so scaling and pausing behave alike there.
 */
import {
  GetEventSourceMappingCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { captured, clientDefaults } from './aws-clients.ts';

let lambdaClient: LambdaClient | undefined;
let sqsClient: SQSClient | undefined;
const lambda = () => {
  lambdaClient ??= captured(new LambdaClient(clientDefaults));
  return lambdaClient;
};
const sqs = () => {
  sqsClient ??= captured(new SQSClient(clientDefaults));
  return sqsClient;
};

/** Per queue: its event source mappings by band (`line` for a production line) and its SQS URLs. */
export type QueueWiring = Readonly<
  Record<string, { readonly mappings: Readonly<Record<string, string>>; readonly urls: readonly string[] }>
>;

export interface MappingState {
  readonly uuid: string;
  readonly part: string;
  readonly maximumConcurrency: number;
  readonly state: string;
}

export class EventSourceScaling {
  constructor(private readonly wiring: QueueWiring) {}

  queues(): string[] {
    return Object.keys(this.wiring);
  }

  private of(queue: string) {
    const wiring = this.wiring[queue];
    if (!wiring) throw new Error(`No event source mappings known for queue ${queue}`);
    return wiring;
  }

  async mappings(queue: string): Promise<MappingState[]> {
    return Promise.all(
      Object.entries(this.of(queue).mappings).map(async ([part, uuid]) => {
        const m = await lambda().send(new GetEventSourceMappingCommand({ UUID: uuid }));
        return {
          uuid,
          part,
          maximumConcurrency: m.ScalingConfig?.MaximumConcurrency ?? 1000,
          state: m.State ?? 'Unknown',
        };
      }),
    );
  }

  async concurrency(
    queue: string,
  ): Promise<{ total: number; parts: Record<string, number>; paused: boolean }> {
    const mappings = await this.mappings(queue);
    return {
      total: mappings.reduce((sum, m) => sum + m.maximumConcurrency, 0),
      parts: Object.fromEntries(mappings.map((m) => [m.part, m.maximumConcurrency])),
      paused: mappings.every((m) => m.state === 'Disabled' || m.state === 'Disabling'),
    };
  }

  async setConcurrency(queue: string, parts: Record<string, number>): Promise<void> {
    const { mappings } = this.of(queue);
    await Promise.all(
      Object.entries(parts).map(([part, value]) =>
        lambda().send(
          new UpdateEventSourceMappingCommand({
            UUID: mappings[part],
            ScalingConfig: { MaximumConcurrency: value },
          }),
        ),
      ),
    );
  }

  /** Pausing disables the mappings: no new batches start, running invocations finish. */
  async setEnabled(queue: string, enabled: boolean): Promise<void> {
    await Promise.all(
      Object.values(this.of(queue).mappings).map((uuid) =>
        lambda().send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: enabled })),
      ),
    );
  }

  async depth(queue: string): Promise<{ depth: number; inFlight: number; delayed: number }> {
    const counts = await Promise.all(
      this.of(queue).urls.map(async (url) => {
        const { Attributes = {} } = await sqs().send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
              'ApproximateNumberOfMessagesDelayed',
            ],
          }),
        );
        return {
          depth: Number(Attributes.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
          delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
        };
      }),
    );
    return counts.reduce(
      (a, b) => ({
        depth: a.depth + b.depth,
        inFlight: a.inFlight + b.inFlight,
        delayed: a.delayed + b.delayed,
      }),
      {
        depth: 0,
        inFlight: 0,
        delayed: 0,
      },
    );
  }
}
