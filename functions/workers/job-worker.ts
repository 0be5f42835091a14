/**
 * Job worker: one per job queue, fed by the queue's three band queues. Each record is a wake-up
 * call for one job id; the job row decides whether anything runs. A batch's records run one at a
 * time — the band's concurrency is its number of running jobs — and each is acknowledged on its
 * own (ReportBatchItemFailures, shared/sqs-batch.ts); once the invocation has worked for
 * WAKE_UP_HAND_BACK_MS, the wake-ups it has not started go back to their band queue for idle
 * workers. Each settled attempt is an outcome metric (EMF: one line per queue and type a second
 * or an invocation, whichever ends first) and, on AWS, a job type's run is an X-Ray subsegment.
 * The attempts' log lines are batched (JobLogBatcher): a job's last line may trail its state by
 * up to the end of the invocation.
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { ArtifactStore } from '#adapters/artifact-store';
import { jobEngineFromEnv, leaseRecoveryPorts, overdueInBandPort } from '#adapters/job-engine';
import { JobLogBatcher } from '#adapters/job-log-store';
import { OperationsStore } from '#adapters/operations-store';
import { outboundRequest } from '#adapters/outbound-http';
import { OutboxStore } from '#adapters/outbox-store';
import { RateLimiter } from '#adapters/rate-limiter';
import { RetryEvidenceStore } from '#adapters/retry-evidence-store';
import { WorkerRegistry } from '#adapters/worker-registry';
import { type AttemptPorts, jobWakeUpSchema, runJobAttempt } from '#domain/job-lifecycle';
import type { SettledOutcome } from '#domain/job-outcome-metrics';
import { allQueueNames } from '#domain/job-queues';
import { recoverExpiredLease } from '#domain/lease-recovery';
import { parseAllowList } from '#domain/outbound-policy';
import { ReadyAheadMemo } from '#domain/ready-ahead-memo';
import { jobTypes } from '#job-types/index';
import type { JobType } from '#job-types/job-type';
import { abortableSleep } from '#shared/abortable-sleep';
import { envInt, requireEnv } from '#shared/env';
import { describeError, logger } from '#shared/logger';
import { HeldJobOutcomes } from '#shared/metrics';
import { type SqsRecordHandler, sqsBatchHandler } from '#shared/sqs-batch';
import { inSubsegment } from '#shared/tracer';

const queue = requireEnv('QUEUE_NAME');
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? `${queue}-worker`;
// An execution environment is a worker; its log stream name is unique to it on AWS.
const workerId = `${queue}:${process.env.AWS_LAMBDA_LOG_STREAM_NAME?.split(']').pop() ?? randomUUID()}`;
const engine = jobEngineFromEnv(workerId);
// The attempts' outcome metrics, this worker's and those of attempts it recovers: one EMF line
// per queue and type a second or an invocation, whichever ends first.
const outcomes = new HeldJobOutcomes();
const recovery = {
  ...leaseRecoveryPorts(engine),
  settled: (attempt: SettledOutcome) => outcomes.add(attempt),
};
const artifacts = new ArtifactStore(requireEnv('ARTIFACTS_BUCKET'));
// Where jobs may send requests besides the public internet (deploy-time: outboundAllowList).
const outboundAllowList = parseAllowList(process.env.OUTBOUND_ALLOW_LIST);
const outbox = new OutboxStore(requireEnv('OUTBOX_TABLE'), envInt('OUTBOX_RETENTION_DAYS', 30));

const registry = new WorkerRegistry(
  requireEnv('WORKERS_TABLE'),
  { workerId, line: queue, functionName, startedAt: new Date().toISOString() },
  envInt('WORKER_ROW_TTL_SECONDS', 3600),
);
// A worker registers when its execution environment starts, before its first job.
await registry.register().catch((error) => logger.warn('Worker registration failed', describeError(error)));

/** Each type's run in an X-Ray subsegment `### <type>`, annotated with the job and its queue. */
const tracedTypes = new Map(
  [...jobTypes].map(([name, type]): [string, JobType] => [
    name,
    {
      ...type,
      run: (payload, context) =>
        inSubsegment(`### ${name}`, { jobType: name, queue: context.queue, jobId: context.jobId }, () =>
          type.run(payload, context),
        ),
    },
  ]),
);

// The attempts' log lines are written together, once per batch of wake-ups or 250 ms.
const logs = new JobLogBatcher(engine.logs, (error, lines) =>
  logger.error('Job log lines lost', { lines, ...describeError(error) }),
);

const ports: AttemptPorts = {
  ...engine.followUps,
  logs,
  rateLimiter: new RateLimiter(new OperationsStore(requireEnv('OPERATIONS_TABLE'))),
  clock: {
    now: () => new Date(),
    sleep: abortableSleep,
  },
  types: tracedTypes,
  readyAhead: new ReadyAheadMemo(),
  overdueInBand: overdueInBandPort(engine),
  worker: {
    // Right after the claim and at each heartbeat: which job this environment works on.
    busy: (jobId) => {
      logger.info('Working on job', { jobId });
      return registry.busy(jobId);
    },
    idle: (outcome) => registry.idle(outcome),
  },
  random: Math.random,
  newToken: randomUUID,
  retryEvidence: new RetryEvidenceStore(requireEnv('METRICS_TABLE')),
  services: {
    outbox,
    artifacts,
    jobsData: { finishedBetween: (from, to) => engine.queries.finishedBetween(allQueueNames, from, to) },
    outbound: { request: (url, init) => outboundRequest(url, init, outboundAllowList) },
  },
  settled: (attempt) => outcomes.add(attempt),
  // An attempt whose worker died before listing it comes back with its wake-up (job-lifecycle.ts):
  // settled here as the dispatcher settles a listed one whose lease ran out.
  recoverUnlisted: (jobId) => recoverExpiredLease(jobId, recovery),
};
const settings = {
  leaseMs: envInt('JOB_LEASE_MS', 30_000),
  heartbeatEveryMs: envInt('JOB_HEARTBEAT_MS', 5_000),
  listRunningAfterMs: envInt('JOB_LIST_RUNNING_AFTER_MS', 1_000),
};

const processRecord: SqsRecordHandler = async (record: SQSRecord, log, controls) => {
  let wakeUp: ReturnType<typeof jobWakeUpSchema.safeParse>;
  try {
    wakeUp = jobWakeUpSchema.safeParse(JSON.parse(record.body));
  } catch {
    wakeUp = jobWakeUpSchema.safeParse(undefined);
  }
  if (!wakeUp.success) {
    // Left for the queue's dead-letter queue: a message without a job id has nothing to run.
    throw new Error(`Malformed job message ${record.messageId}`);
  }
  log.appendKeys({ jobId: wakeUp.data.jobId });
  const outcome = await runJobAttempt(wakeUp.data, queue, ports, settings, { listed: controls.keep });
  log.info('Job delivery handled', { outcome, receiveCount: record.attributes.ApproximateReceiveCount });
};

export const handler = sqsBatchHandler(processRecord, {
  delivery: 'Job delivery',
  oneAtATime: {
    handBackAfterMs: envInt('WAKE_UP_HAND_BACK_MS', 1_000),
    waitingVisibilitySeconds: envInt('WAKE_UP_WAITING_VISIBILITY_SECONDS', 30),
    // Until its attempt is listed as RUNNING, a running job's wake-up keeps its 30 s: it is how
    // the attempt comes back should this invocation die.
    keepRunningWhenTold: true,
    messages: engine.sender.deliveredMessages(),
  },
  // The batch's finished jobs reach the worker's row in one write (domain/worker-status.ts), and
  // the lines still held reach the job log before Lambda may freeze the environment.
  afterBatch: async () => {
    outcomes.flush();
    await Promise.all([registry.flush(), logs.flush()]);
  },
});
