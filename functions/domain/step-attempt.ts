/**
 * One delivery of a step message, from claim to report. Step Functions hands the step over with
 * a task token; from then on the factory, not the workflow, keeps the attempt's time: the
 * worker enforces the step's timeout, heartbeats its lease in the jobs table, and the job
 * dispatcher fails attempts whose worker vanished (StepLost). Waiting in a queue — a paused
 * line, a backlog — is therefore never an attempt and never times a step out.
 *
 * Each dispatch of a step is identified by its execution's start time and the state's retry
 * count (`dispatchSeq`), its attempt by the task token: a duplicate delivery carries both
 * unchanged and finds the attempt already claimed, a superseded dispatch (an older message that
 * surfaces after a retry or a resume) finds a newer one recorded and is dropped. I/O goes
 * through the ports below; adapters implement them.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { planStages } from './assembly-plan.ts';
import { type AssemblyStep, attemptsAllowed, findRobotType, findStep, type RobotType } from './catalog.ts';
import { type SettledOutcome, tellSettled } from './job-outcome-metrics.ts';
import type { JobLogEntry, JobRecord } from './jobs.ts';
import { stepJobId } from './jobs.ts';
import { type Simulation, simulationSchema } from './orders.ts';
import { lineForJobType } from './production-lines.ts';

export const stepMessageSchema = z.object({
  taskToken: z.string().min(1),
  retryCount: z.int().min(0).default(0),
  /** `$$.Execution.StartTime`: orders the dispatches of different executions (resumes). */
  executionStartedAt: z.string().optional(),
  orderId: z.string().min(1),
  robotType: z.string().min(1),
  stepName: z.string().min(1),
  jobType: z.string().min(1),
  priority: z.int().min(0).max(10),
  simulate: simulationSchema.default({}),
});
export type StepMessage = z.infer<typeof stepMessageSchema>;

/** What a worker (or the lease sweep) reports for a failed attempt; the step's retry policy takes it. */
export const stepFailureErrors = ['StepFailed', 'StepTimedOut', 'StepLost'] as const;
export type StepFailureError = (typeof stepFailureErrors)[number];

/**
 * Transient faults of a service integration as Step Functions names them (`<Service>.<error>`):
 * throttling and 5xx. The workflow retries them with a budget of their own; they are never an
 * attempt of the step.
 */
export function transportErrors(service: 'SQS' | 'DynamoDB'): string[] {
  const common = ['SdkClientException', 'InternalFailure', 'ServiceUnavailable', 'ThrottlingException'];
  const specific =
    service === 'SQS'
      ? ['AmazonSQSException', 'InternalError', 'RequestThrottled', 'KmsThrottled']
      : [
          'AmazonDynamoDBException',
          'InternalServerError',
          'InternalServerErrorException',
          'ProvisionedThroughputExceededException',
          'RequestLimitExceeded',
        ];
  return [...specific, ...common].map((name) => `${service}.${name}`);
}

/** A later execution (a resume) or a later retry of the same execution supersedes an earlier dispatch. */
export function dispatchSequenceOf(message: Pick<StepMessage, 'executionStartedAt' | 'retryCount'>): number {
  const started = message.executionStartedAt ? Date.parse(message.executionStartedAt) : 0;
  return (Number.isFinite(started) ? started : 0) * 1000 + Math.min(message.retryCount, 999);
}

export interface ClaimRequest {
  readonly jobId: string;
  readonly attemptToken: string;
  /** Kept on the row while the attempt runs, so that the lease sweep can report a lost worker. */
  readonly taskToken: string;
  readonly dispatchSeq: number;
  readonly workerId: string;
  readonly now: Date;
  readonly leaseMs: number;
  /** When this attempt's message was sent: the row's runAt, the start of its wait (analytics). */
  readonly dueAt?: Date;
  readonly seed: Omit<JobRecord, 'status' | 'attempts' | 'updatedAt' | 'createdAt'> & { createdAt: string };
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly job: JobRecord }
  | { readonly kind: 'taken'; readonly job: JobRecord };

export type StepFinish =
  | { status: 'COMPLETED'; at: string; queue: string; result: Record<string, unknown> }
  | { status: 'FAILED'; at: string; queue: string; error: string }
  | { status: 'CANCELLED'; at: string; queue: string; reason: string };

export interface StepJobPort {
  /**
   * Starts a new attempt for a dispatch newer than the recorded one (on a job that is not
   * finished), or takes over this token's attempt when its lease expired.
   */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /** Extends the lease; tells whether cancellation was asked for or the attempt is no longer ours. */
  extendLease(
    jobId: string,
    attemptToken: string,
    until: number,
  ): Promise<'ok' | 'cancel-requested' | 'lost'>;
  /** Conditional on the attempt still being this token's and RUNNING; false when it is not. */
  finish(jobId: string, attemptToken: string, outcome: StepFinish): Promise<boolean>;
}

export interface StepPorts {
  readonly jobs: StepJobPort;
  readonly logs: { append(jobId: string, entry: JobLogEntry): Promise<void> };
  readonly orders: { markInProgress(orderId: string, at: string): Promise<void> };
  readonly workflow: {
    stepSucceeded(taskToken: string, output: Record<string, unknown>): Promise<void>;
    stepFailed(taskToken: string, error: string, cause: string): Promise<void>;
  };
  readonly worker: {
    busy(jobId: string): Promise<void>;
    idle(outcome: 'completed' | 'failed'): Promise<void>;
  };
  readonly clock: { now(): Date; sleep(ms: number): Promise<void> };
  readonly workerId: string;
  /**
   * Told of each attempt this worker settled, once its end is written (the outcome metrics, as for
   * standalone jobs: a log line, no AWS call). Whatever it throws is ignored: it never fails a step.
   */
  readonly settled?: (attempt: SettledOutcome) => void;
}

export interface StepRunSettings {
  readonly leaseMs: number;
  /** How often a running step proves it is alive (lease, worker row) and looks for a cancel. */
  readonly heartbeatEveryMs: number;
}

export type AttemptResult =
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'duplicate-reported'
  | 'superseded'
  | 'in-flight-elsewhere'
  | 'lost-ownership';

/**
 * An attempt is identified by its task token and the state's retry count: AWS issues a new token
 * per attempt, but other engines (LocalStack's interpreter) reuse one across retries. A duplicate
 * delivery carries both unchanged.
 */
export const attemptTokenOf = (taskToken: string, retryCount = 0): string =>
  createHash('sha256').update(`${taskToken}#${retryCount}`).digest('hex').slice(0, 32);

/**
 * What a failed attempt makes of its step: DEAD when it was the last of the step's budget (the
 * workflow's retry policy allows as many attempts, and records the step dead next; a resumed
 * order raises both), FAILED when a retry follows.
 */
export const failedStepStatus = (job: Pick<JobRecord, 'attempts' | 'maxAttempts'>): 'FAILED' | 'DEAD' =>
  job.attempts >= job.maxAttempts ? 'DEAD' : 'FAILED';

/** Whether the simulated attempt fails: `n` fails the first n attempts, "always" every attempt. */
export function simulatedFailure(simulate: Simulation, stepName: string, attempt: number): boolean {
  const rule = simulate.failures?.[stepName];
  if (rule === undefined) return false;
  return rule === 'always' || attempt <= rule;
}

// The catalog is fixed at build time: plan each robot type's stages once, not on every attempt.
const firstStages = new Map<string, ReadonlySet<string>>();
const firstStageOf = (robotType: RobotType): ReadonlySet<string> => {
  let names = firstStages.get(robotType.name);
  if (!names) {
    names = new Set((planStages(robotType)[0] ?? []).map((s) => s.name));
    firstStages.set(robotType.name, names);
  }
  return names;
};

/** A step planned to take at least this long writes its start line when it starts. */
export const startLineAfterMs = 1_000;

export class UnknownStepError extends Error {
  override readonly name = 'UnknownStepError';
}

/** The row a step's first claim creates: what the catalog says about the step. */
function seedOf(message: StepMessage, step: AssemblyStep, jobId: string, now: Date): ClaimRequest['seed'] {
  return {
    jobId,
    kind: 'step',
    queue: lineForJobType(step.jobType) ?? 'unknown',
    type: step.jobType,
    maxAttempts: attemptsAllowed(step),
    priority: message.priority,
    orderId: message.orderId,
    robotType: message.robotType,
    stepName: step.name,
    createdAt: now.toISOString(),
  };
}

/** When the step message was sent (SQS SentTimestamp): the start of its wait. */
export interface StepDelivery {
  readonly sentAt?: Date;
}

export async function runStepAttempt(
  message: StepMessage,
  ports: StepPorts,
  settings: StepRunSettings,
  delivery: StepDelivery = {},
): Promise<AttemptResult> {
  const robotType = findRobotType(message.robotType);
  const step = robotType && findStep(robotType, message.stepName);
  if (!robotType || !step) {
    throw new UnknownStepError(`No step "${message.stepName}" in robot type "${message.robotType}"`);
  }
  const jobId = stepJobId(message.orderId, step.name);
  const attemptToken = attemptTokenOf(message.taskToken, message.retryCount);
  const dispatchSeq = dispatchSequenceOf(message);
  const now = ports.clock.now();
  const claim = await ports.jobs.claim({
    jobId,
    attemptToken,
    taskToken: message.taskToken,
    dispatchSeq,
    workerId: ports.workerId,
    now,
    leaseMs: settings.leaseMs,
    ...(delivery.sentAt ? { dueAt: delivery.sentAt } : {}),
    seed: seedOf(message, step, jobId, now),
  });

  if (claim.kind === 'taken') {
    if ((claim.job.dispatchSeq ?? 0) > dispatchSeq && claim.job.status !== 'COMPLETED') {
      await ports.logs.append(jobId, {
        timestamp: ports.clock.now().toISOString(),
        level: 'INFO',
        message: 'Superseded delivery dropped: a newer dispatch of this step took its place',
        attempt: claim.job.attempts,
        workerId: ports.workerId,
      });
      return 'superseded';
    }
    return reportSettledAttempt(claim.job, message, attemptToken, ports);
  }

  const job = claim.job;
  const attempt = job.attempts;
  const of = `${attempt} of ${job.maxAttempts}`;
  const entry = (level: JobLogEntry['level'], text: string, timestamp = ports.clock.now().toISOString()) => ({
    timestamp,
    level,
    message: text,
    attempt,
    workerId: ports.workerId,
  });
  const durationMs = message.simulate.stepDurationMs ?? step.durationMs;
  const budgetMs = step.timeoutSeconds * 1000;
  // As for jobs: a short attempt that completes writes its start and end as one line; any other
  // attempt writes its start line (with the start's timestamp) before anything else it logs.
  const startLine = `Attempt ${of} started on ${job.queue}: ${step.description}`;
  const startedAt = now.toISOString();
  let startLogged = false;
  const logStart = async () => {
    if (startLogged) return;
    startLogged = true;
    await ports.logs.append(jobId, entry('INFO', startLine, startedAt));
  };
  const log = async (level: JobLogEntry['level'], text: string) => {
    await logStart();
    await ports.logs.append(jobId, entry(level, text));
  };

  await Promise.all([
    Math.min(durationMs, budgetMs) >= startLineAfterMs ? logStart() : undefined,
    // Only the first stage's steps can find the order PENDING: later ones skip the write.
    firstStageOf(robotType).has(step.name)
      ? ports.orders.markInProgress(message.orderId, now.toISOString())
      : undefined,
    ports.worker.busy(jobId),
  ]);

  const worked = await workWithHeartbeats(
    Math.min(durationMs, budgetMs),
    jobId,
    attemptToken,
    ports,
    settings,
  );
  if (worked === 'lost') {
    await log('WARN', `Attempt ${of} abandoned: its lease was taken over`);
    return 'lost-ownership';
  }
  const ended = ports.clock.now();
  const at = ended.toISOString();
  const tell = (status: SettledOutcome['status']) =>
    tellSettled(ports.settled, {
      queue: job.queue,
      type: job.type,
      status,
      attempt,
      ranMs: ended.getTime() - now.getTime(),
      // From the message's send: a step waits in its line's queue (a backlog, a pause) until now.
      ...(delivery.sentAt ? { waitedMs: Math.max(0, now.getTime() - delivery.sentAt.getTime()) } : {}),
    });
  if (worked === 'cancel-requested') {
    const owned = await ports.jobs.finish(jobId, attemptToken, {
      status: 'CANCELLED',
      at,
      queue: job.queue,
      reason: 'Its order was cancelled while the step ran',
    });
    if (!owned) return 'lost-ownership';
    tell('CANCELLED');
    await log('WARN', `Attempt ${of} stopped: its order was cancelled`);
    await ports.worker.idle('failed');
    return 'cancelled';
  }

  const failure: { error: StepFailureError; text: string } | undefined =
    durationMs > budgetMs
      ? { error: 'StepTimedOut', text: `timed out after ${step.timeoutSeconds} s` }
      : simulatedFailure(message.simulate, step.name, attempt)
        ? { error: 'StepFailed', text: `failed: Simulated failure of ${step.name}` }
        : undefined;
  if (failure) {
    const error = `Attempt ${of} ${failure.text}`;
    const owned = await ports.jobs.finish(jobId, attemptToken, {
      status: 'FAILED',
      at,
      queue: job.queue,
      error,
    });
    if (!owned) return 'lost-ownership';
    tell(failedStepStatus(job));
    await log('ERROR', error);
    await ports.workflow.stepFailed(message.taskToken, failure.error, error);
    // The last attempt of the budget: the workflow marks the step dead.
    await ports.worker.idle('failed');
    return 'failed';
  }

  const owned = await ports.jobs.finish(jobId, attemptToken, {
    status: 'COMPLETED',
    at,
    queue: job.queue,
    result: { durationMs, line: job.queue },
  });
  if (!owned) return 'lost-ownership';
  tell('COMPLETED');
  if (startLogged) await log('INFO', `Attempt ${of} completed in ${durationMs} ms`);
  else
    await ports.logs.append(jobId, entry('INFO', `${startLine}; completed in ${durationMs} ms`, startedAt));
  await ports.workflow.stepSucceeded(message.taskToken, { jobId, stepName: step.name, completedAt: at });
  await ports.worker.idle('completed');
  return 'completed';
}

/**
 * A delivery whose attempt was already claimed: repeat the recorded verdict to the workflow
 * (reports are idempotent there), or leave the message for later when another worker holds a
 * live lease, so that its crash would not lose the step.
 */
async function reportSettledAttempt(
  job: JobRecord,
  message: StepMessage,
  attemptToken: string,
  ports: StepPorts,
): Promise<AttemptResult> {
  if (job.status === 'RUNNING' && job.attemptToken === attemptToken) return 'in-flight-elsewhere';
  await ports.logs.append(job.jobId, {
    timestamp: ports.clock.now().toISOString(),
    level: 'INFO',
    message: `Duplicate delivery absorbed: the step is ${job.status}; its verdict was reported again`,
    attempt: job.attempts,
    workerId: ports.workerId,
  });
  if (job.status === 'COMPLETED') {
    await ports.workflow.stepSucceeded(message.taskToken, {
      jobId: job.jobId,
      stepName: job.stepName ?? message.stepName,
      completedAt: job.completedAt ?? ports.clock.now().toISOString(),
    });
    return 'duplicate-reported';
  }
  const cause = job.lastError ?? `Step job ${job.jobId} is ${job.status}`;
  await ports.workflow.stepFailed(
    message.taskToken,
    job.status === 'FAILED' ? 'StepFailed' : `Step${capitalize(job.status)}`,
    cause,
  );
  return 'duplicate-reported';
}

const capitalize = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();

async function workWithHeartbeats(
  durationMs: number,
  jobId: string,
  attemptToken: string,
  ports: StepPorts,
  settings: StepRunSettings,
): Promise<'done' | 'cancel-requested' | 'lost'> {
  let remaining = durationMs;
  while (remaining > settings.heartbeatEveryMs) {
    await ports.clock.sleep(settings.heartbeatEveryMs);
    remaining -= settings.heartbeatEveryMs;
    const until = ports.clock.now().getTime() + settings.leaseMs;
    const [lease] = await Promise.all([
      ports.jobs.extendLease(jobId, attemptToken, until),
      ports.worker.busy(jobId),
    ]);
    if (lease !== 'ok') return lease;
  }
  await ports.clock.sleep(remaining);
  return 'done';
}
