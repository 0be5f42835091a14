/** Every minute: starts and ends maintenance windows (domain/maintenance-tick.ts). */
import middy from '@middy/core';
import { maintenancePortsFromEnv, operationsFromEnv } from '#adapters/operations';
import { maintenanceTick, type TickOutcome } from '#domain/maintenance-tick';

const ports = maintenancePortsFromEnv(operationsFromEnv());

export const handler = middy<unknown, { outcomes: TickOutcome[] }>().handler(async () => ({
  outcomes: await maintenanceTick(ports),
}));
