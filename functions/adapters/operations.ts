/** Wires the operator-facing ports (scaling, workers, schedules, windows, metrics) from the environment. */
import { submitJobs } from '#domain/job-intake';
import type { MaintenancePorts } from '#domain/maintenance-tick';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { EventSourceScaling, type QueueWiring } from './event-source-scaling.ts';
import { jobEngineFromEnv } from './job-engine.ts';
import { MetricsStore, OrderMetrics } from './metrics-store.ts';
import { OperationsStore } from './operations-store.ts';
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

/** What the maintenance tick needs: windows, the queues' mappings, and job intake. */
export function maintenancePortsFromEnv(ops: ReturnType<typeof operationsFromEnv>): MaintenancePorts {
  const engine = jobEngineFromEnv('maintenance');
  return {
    windows: ops.operations,
    queues: ops.scaling,
    submit: async (job) => {
      const [accepted] = await submitJobs([job], engine.intake, { indexed: false });
      if (!accepted) throw new Error('maintenance job not accepted');
      return accepted;
    },
    clock: { now: () => new Date() },
  };
}
