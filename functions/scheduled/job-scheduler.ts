/**
 * Cron schedules, every minute: the safety net behind the precise timers (domain/cron-tick.ts)
 * — enqueues a due occurrence nothing enqueued and arms the timers of the coming ones.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { cronPortsFromEnv } from '#adapters/operations';
import { OperationsStore } from '#adapters/operations-store';
import { cronSweep, type Enqueued } from '#domain/cron-tick';
import { requireEnv } from '#shared/env';
import { describeError, logger } from '#shared/logger';

const ports = cronPortsFromEnv({ operations: new OperationsStore(requireEnv('OPERATIONS_TABLE')) });

export const handler = middy<unknown, { enqueued: Enqueued[] }>()
  .use(injectLambdaContext(logger))
  .handler(async () => ({
    enqueued: await cronSweep(ports, (scheduleId, error) =>
      logger.error('A schedule could not be run', { scheduleId, ...describeError(error) }),
    ),
  }));
