/**
 * The precise timers (domain/timers.ts): each message is a cron occurrence or a maintenance
 * window's start or end, delivered a moment early; the handler waits to the exact time and
 * acts. A timer that fails is left on the queue and retried (shared/sqs-batch.ts); the minute
 * sweeps cover for one that is lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSRecord } from 'aws-lambda';
import { cronPortsFromEnv, maintenancePortsFromEnv, operationsFromEnv } from '#adapters/operations';
import { runOccurrence } from '#domain/cron-tick';
import { maintenanceTick } from '#domain/maintenance-tick';
import { timerMessageSchema } from '#domain/timers';
import type { KeyedLog } from '#shared/logger';
import { sqsBatchHandler } from '#shared/sqs-batch';

const ops = operationsFromEnv();
const maintenance = maintenancePortsFromEnv(ops);
const cron = cronPortsFromEnv(ops);

async function fire(record: SQSRecord, log: KeyedLog): Promise<void> {
  const parsed = timerMessageSchema.safeParse(JSON.parse(record.body));
  // Left for the queue's dead-letter queue: nobody can act on it.
  if (!parsed.success) throw new Error(`Malformed timer ${record.messageId}: ${parsed.error.message}`);
  const timer = parsed.data;
  const at = new Date(timer.at);
  const early = at.getTime() - Date.now();
  if (early > 0) await sleep(early);
  const outcome =
    timer.kind === 'schedule'
      ? await runOccurrence(timer.id, at, cron)
      : await maintenanceTick(maintenance, timer.id);
  log.info('Timer fired', { ...timer, lateMs: Date.now() - at.getTime(), outcome });
}

export const handler = sqsBatchHandler(fire, { delivery: 'Timer' });
