/** Wires the operator-facing ports (scaling, workers, schedules, windows, metrics) from the environment. */
import type { CronPorts } from '#domain/cron-tick';
import { submitJobs } from '#domain/job-intake';
import type { JobRequest } from '#domain/job-submission';
import type { MaintenancePorts } from '#domain/maintenance-tick';
import type { PausePorts } from '#domain/queue-pause';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { EventSourceScaling, type QueueWiring } from './event-source-scaling.ts';
import { jobEngineFromEnv } from './job-engine.ts';
import { MetricsStore, OrderMetrics } from './metrics-store.ts';
import { OperationsStore } from './operations-store.ts';
import { TimerQueue } from './timer-queue.ts';
import { WorkerDirectory } from './worker-directory.ts';

export function operationsFromEnv() {
  const metrics = new MetricsStore(requireEnv('METRICS_TABLE'), envInt('METRICS_RETENTION_DAYS', 30));
  return {
    operations: new OperationsStore(requireEnv('OPERATIONS_TABLE')),
    scaling: new EventSourceScaling(requireJsonEnv<QueueWiring>('QUEUE_WIRING')),
    workers: new WorkerDirectory(requireEnv('WORKERS_TABLE')),
    metrics,
    orderMetrics: new OrderMetrics(metrics),
  };
}

/** Submits one job through the engine's intake, as POST /jobs would. */
function submitterFor(actor: string) {
  const engine = jobEngineFromEnv(actor);
  return async (job: JobRequest) => {
    const [accepted] = await submitJobs([job], engine.intake, { indexed: false });
    if (!accepted) throw new Error(`${actor}: job not accepted`);
    return accepted;
  };
}

const timersFromEnv = () => new TimerQueue(requireEnv('TIMERS_QUEUE_URL'));

/** What the maintenance tick needs: windows, the queues' mappings, job intake and timers. */
export function maintenancePortsFromEnv(ops: ReturnType<typeof operationsFromEnv>): MaintenancePorts {
  return {
    windows: ops.operations,
    queues: ops.scaling,
    pauses: ops.operations,
    submit: submitterFor('maintenance'),
    timers: timersFromEnv(),
    clock: { now: () => new Date() },
  };
}

/** What operator pauses need: the pauses, the windows beside them and the queues' mappings. */
export function pausePortsFromEnv(): PausePorts {
  const operations = new OperationsStore(requireEnv('OPERATIONS_TABLE'));
  return {
    pauses: operations,
    windows: operations,
    queues: new EventSourceScaling(requireJsonEnv<QueueWiring>('QUEUE_WIRING')),
    clock: { now: () => new Date() },
  };
}

/** What cron schedules need: the schedules, job intake and timers. */
export function cronPortsFromEnv(ops: Pick<ReturnType<typeof operationsFromEnv>, 'operations'>): CronPorts {
  return {
    schedules: ops.operations,
    submit: submitterFor('scheduler'),
    timers: timersFromEnv(),
    clock: { now: () => new Date() },
  };
}
