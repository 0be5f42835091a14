/** Every minute: starts and ends maintenance windows (domain/maintenance-tick.ts). */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { maintenancePortsFromEnv, operationsFromEnv } from '#adapters/operations';
import { maintenanceTick, type TickOutcome } from '#domain/maintenance-tick';
import { logger } from '#shared/logger';

const ports = maintenancePortsFromEnv(operationsFromEnv());

export const handler = middy<unknown, { outcomes: TickOutcome[] }>()
  .use(injectLambdaContext(logger))
  .handler(async () => ({
    outcomes: await maintenanceTick(ports),
  }));
