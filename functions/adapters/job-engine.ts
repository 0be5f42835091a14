/** Wires the job engine's ports to DynamoDB and SQS from the environment the stack sets. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HeldWakeUpPorts } from '#domain/held-wake-ups';
import type { AttemptPorts, FollowUpPorts } from '#domain/job-lifecycle';
import { defaultDispatchGraceMs } from '#domain/job-lifecycle';
import { jobQueueNames } from '#domain/job-queues';
import type { LeaseRecoveryPorts } from '#domain/lease-recovery';
import { jobTypes, secretFieldsOf } from '#job-types/index';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { publishJobOutcome } from '#shared/metrics';
import { AssemblyWorkflows } from './assembly-workflows.ts';
import { JobEngineStore, StepJobStore } from './job-engine-store.ts';
import { JobLogStore } from './job-log-store.ts';
import { JobQueries } from './job-queries.ts';
import { type BandQueueUrls, JobQueueSender } from './job-queue-sender.ts';

import { OrderStore } from './order-store.ts';
import { markWorkerLost } from './worker-registry.ts';

export function jobEngineFromEnv(actor = `api:${randomUUID().slice(0, 8)}`) {
  const jobsTable = requireEnv('JOBS_TABLE');
  const store = new JobEngineStore(
    jobsTable,
    { finishedDays: envInt('JOB_RETENTION_DAYS', 7), deadDays: envInt('DEAD_JOB_RETENTION_DAYS', 30) },
    secretFieldsOf,
  );
  const sender = new JobQueueSender(requireJsonEnv<BandQueueUrls>('JOB_QUEUE_URLS'));
  const logs = new JobLogStore(requireEnv('JOB_LOGS_TABLE'), envInt('JOB_LOG_RETENTION_DAYS', 30));
  const followUps: FollowUpPorts = {
    jobs: store,
    queue: sender,
    logs,
    clock: { now: () => new Date() },
    graceMs: envInt('DISPATCH_GRACE_MS', defaultDispatchGraceMs),
    actor,
  };
  return {
    store,
    sender,
    logs,
    queries: new JobQueries(jobsTable),
    followUps,
    intake: {
      ...followUps,
      store,
      sender,
      jobTypes,
      requestKeys: {
        take: (key: string, leaseUntil: string, lastRunAt: string) =>
          store.takeRequestKey(key, leaseUntil, lastRunAt),
        get: (key: string) => store.getRequestKey(key),
        release: (key: string) => store.releaseRequestKey(key),
        pause: (ms: number) => sleep(ms),
      },
    },
  };
}

/** Retry needs the orders and workflows too: a robot step's retry resumes its order. */
export function retryPortsFromEnv() {
  const engine = jobEngineFromEnv();
  return {
    ...engine.followUps,
    store: engine.store,
    stepJobs: new StepJobStore(requireEnv('JOBS_TABLE')),
    orders: new OrderStore(requireEnv('ORDERS_TABLE')),
    workflows: new AssemblyWorkflows(requireJsonEnv<Record<string, string>>('ASSEMBLY_WORKFLOWS')),
    queries: engine.queries,
  };
}

/**
 * Lease recovery's ports (domain/lease-recovery.ts), for the dispatcher's sweep and for a job
 * worker settling an unlisted attempt that its wake-up found lost. Task callbacks need no state
 * machine ARN: the token names the task.
 */
export function leaseRecoveryPorts(engine: ReturnType<typeof jobEngineFromEnv>): LeaseRecoveryPorts {
  const workersTable = requireEnv('WORKERS_TABLE');
  return {
    ...engine.followUps,
    store: engine.store,
    workflow: new AssemblyWorkflows({}),
    workers: {
      markLost: (workerId, silentSince, now) => markWorkerLost(workersTable, workerId, silentSince, now),
    },
    random: Math.random,
    settled: (attempt) => publishJobOutcome(attempt),
  };
}

/**
 * Where a job worker looks for jobs whose wake-up is held (domain/job-lifecycle.ts, claimBest):
 * the band's ready-index entries due by then, one read per priority, and their rows read
 * eventually consistent (a hint: the claim is the truth).
 */
export function overdueInBandPort(
  engine: ReturnType<typeof jobEngineFromEnv>,
): AttemptPorts['overdueInBand'] {
  return async (queue, band, dueBy, limit) => {
    const jobIds = await engine.queries.overdueReady(queue, band, dueBy, limit);
    if (jobIds.length === 0) return [];
    const rows = await engine.store.getMany(jobIds, { consistent: false });
    return jobIds.flatMap((jobId) => rows.get(jobId) ?? []);
  };
}

/** The sweep's backstop for wake-ups held by an invocation that stopped (domain/held-wake-ups.ts). */
export function heldWakeUpPorts(engine: ReturnType<typeof jobEngineFromEnv>): HeldWakeUpPorts {
  return {
    queues: jobQueueNames,
    overdue: (queue, band, dueBy, limit) => engine.queries.overdueReady(queue, band, dueBy, limit),
    visibleMessages: (queue, band) => engine.sender.waiting(queue, band),
    rows: (jobIds) => engine.store.getMany(jobIds),
    send: (wakeUps) => engine.sender.sendMany(wakeUps),
    logs: engine.logs,
    clock: engine.followUps.clock,
    actor: engine.followUps.actor,
  };
}
