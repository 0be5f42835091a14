/**
 * Step worker: one per production line, fed by the line's SQS queue. Each record is one delivery
 * of a workflow step; failures are reported per record (shared/sqs-batch.ts) so one bad message
 * does not redeliver its batch-mates. Each settled attempt is an outcome metric (EMF, held a second
 * or an invocation as a job worker's): the line is its queue, the step's job type its type.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSRecord } from 'aws-lambda';
import { AssemblyWorkflows } from '#adapters/assembly-workflows';
import { StepJobStore } from '#adapters/job-engine-store';
import { JobLogStore } from '#adapters/job-log-store';
import { MetricsStore, OrderMetrics } from '#adapters/metrics-store';
import { OrderStore } from '#adapters/order-store';
import { WorkerRegistry } from '#adapters/worker-registry';
import { isFinalStep } from '#domain/catalog';
import { runStepAttempt, type StepPorts, stepMessageSchema } from '#domain/step-attempt';
import { envInt, requireEnv } from '#shared/env';
import { describeError, logger } from '#shared/logger';
import { HeldJobOutcomes } from '#shared/metrics';
import { type SqsRecordHandler, sqsBatchHandler } from '#shared/sqs-batch';

const line = requireEnv('LINE_NAME');
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? `${line}-worker`;
// An execution environment is a worker; its log stream name is unique to it on AWS.
const workerId = `${line}:${process.env.AWS_LAMBDA_LOG_STREAM_NAME?.split(']').pop() ?? randomUUID()}`;
const jobs = new StepJobStore(requireEnv('JOBS_TABLE'));
const registry = new WorkerRegistry(
  requireEnv('WORKERS_TABLE'),
  { workerId, line, functionName, startedAt: new Date().toISOString() },
  envInt('WORKER_ROW_TTL_SECONDS', 3600),
);
// A worker registers when its execution environment starts, before its first step.
await registry.register().catch((error) => logger.warn('Worker registration failed', describeError(error)));
// The steps' outcome metrics: one EMF line per line and type a second or an invocation.
const outcomes = new HeldJobOutcomes();
const ports: StepPorts & { orders: OrderStore } = {
  jobs,
  logs: new JobLogStore(requireEnv('JOB_LOGS_TABLE'), envInt('JOB_LOG_RETENTION_DAYS', 30)),
  orders: new OrderStore(requireEnv('ORDERS_TABLE')),
  workflow: new AssemblyWorkflows({}),
  worker: registry,
  clock: { now: () => new Date(), sleep: (ms) => sleep(ms) },
  workerId,
  settled: (attempt) => outcomes.add(attempt),
};
const settings = {
  leaseMs: envInt('STEP_LEASE_MS', 30_000),
  heartbeatEveryMs: envInt('STEP_HEARTBEAT_MS', 10_000),
};

// Robot orders completed, by hour (the step counts come from the jobs table's stream).
const orderMetrics = process.env.METRICS_TABLE
  ? new OrderMetrics(new MetricsStore(process.env.METRICS_TABLE, envInt('METRICS_RETENTION_DAYS', 30)))
  : undefined;

/** The last step of an order: its completion is (within a transition) the order's. */
async function recordOrderCompleted(orderId: string): Promise<void> {
  const order = await ports.orders.get(orderId);
  if (!order || !orderMetrics) return;
  const now = new Date();
  await orderMetrics.record(order.robotType, now, now.getTime() - Date.parse(order.createdAt));
}

const processRecord: SqsRecordHandler = async (record: SQSRecord, log) => {
  const parsed = stepMessageSchema.safeParse(JSON.parse(record.body));
  if (!parsed.success) {
    // Left for the dead-letter queue: without a valid token there is nobody to report to.
    throw new Error(`Malformed step message ${record.messageId}: ${parsed.error.message}`);
  }
  const { orderId, stepName, robotType } = parsed.data;
  log.appendKeys({ orderId, step: stepName });
  const sentAt = Number(record.attributes.SentTimestamp);
  const outcome = await runStepAttempt(parsed.data, ports, settings, {
    ...(Number.isFinite(sentAt) && sentAt > 0 ? { sentAt: new Date(sentAt) } : {}),
  });
  log.info('Step delivery handled', { outcome, receiveCount: record.attributes.ApproximateReceiveCount });
  if (outcome === 'completed' && isFinalStep(robotType, stepName)) {
    await recordOrderCompleted(orderId).catch((error) =>
      log.warn('Order analytics not recorded', describeError(error)),
    );
  }
  if (outcome === 'in-flight-elsewhere') {
    throw new Error(`Step ${orderId}/${stepName} is running on another worker`);
  }
};

export const handler = sqsBatchHandler(processRecord, {
  delivery: 'Step delivery',
  // The batch's finished steps reach the worker's row in one write (domain/worker-status.ts), and
  // their outcome metrics one line per line and type.
  afterBatch: () => {
    outcomes.flush();
    return registry.flush();
  },
});
