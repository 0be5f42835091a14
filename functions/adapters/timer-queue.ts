import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type TimerMessage, type TimerPort, timerDelaySeconds } from '#domain/timers';
import { captured, clientDefaults } from './aws-clients.ts';

let sqsClient: SQSClient | undefined;
const sqs = () => {
  sqsClient ??= captured(new SQSClient(clientDefaults));
  return sqsClient;
};

/** Timers as delayed messages on the factory's timers queue (TIMERS_QUEUE_URL). */
export class TimerQueue implements TimerPort {
  constructor(private readonly queueUrl: string) {}

  async arm(timer: TimerMessage): Promise<void> {
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(timer),
        DelaySeconds: timerDelaySeconds(new Date(timer.at), new Date()),
      }),
    );
  }
}
