/**
 * One delivery of a step message, from claim to report. The attempt's identity is the Step
 * Functions task token: a duplicate delivery carries the same token and finds the attempt
 * already claimed, so the step never runs twice concurrently and never completes twice.
 * I/O goes through the ports below; adapters implement them.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { attemptsAllowed, findRobotType, findStep } from './catalog.ts';
import type { JobLogEntry, JobRecord } from './jobs.ts';
import { stepJobId } from './jobs.ts';
import { type Simulation, simulationSchema } from './orders.ts';
import { lineForJobType } from './production-lines.ts';

export const stepMessageSchema = z.object({
  taskToken: z.string().min(1),
  retryCount: z.int().min(0).default(0),
  orderId: z.string().min(1),
  robotType: z.string().min(1),
  stepName: z.string().min(1),
  jobType: z.string().min(1),
  priority: z.int().min(0).max(10),
  simulate: simulationSchema.default({}),
});
export type StepMessage = z.infer<typeof stepMessageSchema>;

export interface ClaimRequest {
  readonly jobId: string;
  readonly attemptToken: string;
  readonly workerId: string;
  readonly now: Date;
  readonly leaseMs: number;
  readonly seed: Omit<JobRecord, 'status' | 'attempts' | 'updatedAt' | 'createdAt'> & { createdAt: string };
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly job: JobRecord }
  | { readonly kind: 'taken'; readonly job: JobRecord };

export interface StepJobPort {
  /** Starts a new attempt, or takes over this token's attempt when its lease expired. */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  extendLease(jobId: string, attemptToken: string, until: number): Promise<void>;
  /** Conditional on the attempt still being this token's and RUNNING; false when it is not. */
  finish(
    jobId: string,
    attemptToken: string,
    outcome:
      | { status: 'COMPLETED'; at: string; queue: string; result: Record<string, unknown> }
      | { status: 'FAILED'; at: string; queue: string; error: string },
  ): Promise<boolean>;
}

export interface StepPorts {
  readonly jobs: StepJobPort;
  readonly logs: { append(jobId: string, entry: JobLogEntry): Promise<void> };
  readonly orders: { markInProgress(orderId: string, at: string): Promise<void> };
  readonly workflow: {
    stepSucceeded(taskToken: string, output: Record<string, unknown>): Promise<void>;
    stepFailed(taskToken: string, error: string, cause: string): Promise<void>;
    heartbeat(taskToken: string): Promise<void>;
  };
  readonly worker: {
    busy(jobId: string): Promise<void>;
    idle(outcome: 'completed' | 'failed'): Promise<void>;
  };
  readonly clock: { now(): Date; sleep(ms: number): Promise<void> };
  readonly workerId: string;
}

export interface StepRunSettings {
  readonly leaseMs: number;
  /** How often a long step proves it is alive (workflow heartbeat, lease, worker row). */
  readonly heartbeatEveryMs: number;
}

export type AttemptResult =
  | 'completed'
  | 'failed'
  | 'duplicate-reported'
  | 'in-flight-elsewhere'
  | 'lost-ownership';

/**
 * An attempt is identified by its task token and the state's retry count: AWS issues a new token
 * per attempt, but other engines (LocalStack's interpreter) reuse one across retries. A duplicate
 * delivery carries both unchanged.
 */
export const attemptTokenOf = (taskToken: string, retryCount = 0): string =>
  createHash('sha256').update(`${taskToken}#${retryCount}`).digest('hex').slice(0, 32);

/** Whether the simulated attempt fails: `n` fails the first n attempts, "always" every attempt. */
export function simulatedFailure(simulate: Simulation, stepName: string, attempt: number): boolean {
  const rule = simulate.failures?.[stepName];
  if (rule === undefined) return false;
  return rule === 'always' || attempt <= rule;
}

export class UnknownStepError extends Error {
  override readonly name = 'UnknownStepError';
}

export async function runStepAttempt(
  message: StepMessage,
  ports: StepPorts,
  settings: StepRunSettings,
): Promise<AttemptResult> {
  const robotType = findRobotType(message.robotType);
  const step = robotType && findStep(robotType, message.stepName);
  if (!robotType || !step) {
    throw new UnknownStepError(`No step "${message.stepName}" in robot type "${message.robotType}"`);
  }
  const jobId = stepJobId(message.orderId, step.name);
  const attemptToken = attemptTokenOf(message.taskToken, message.retryCount);
  const now = ports.clock.now();
  const claim = await ports.jobs.claim({
    jobId,
    attemptToken,
    workerId: ports.workerId,
    now,
    leaseMs: settings.leaseMs,
    seed: {
      jobId,
      kind: 'step',
      queue: lineForJobType(step.jobType) ?? 'unknown',
      type: step.jobType,
      maxAttempts: attemptsAllowed(step),
      priority: message.priority,
      orderId: message.orderId,
      robotType: robotType.name,
      stepName: step.name,
      createdAt: now.toISOString(),
    },
  });

  if (claim.kind === 'taken') return reportSettledAttempt(claim.job, message, attemptToken, ports);

  const attempt = claim.job.attempts;
  const log = (level: JobLogEntry['level'], text: string) =>
    ports.logs.append(jobId, {
      timestamp: ports.clock.now().toISOString(),
      level,
      message: text,
      attempt,
      workerId: ports.workerId,
    });

  await Promise.all([
    log('INFO', `Attempt ${attempt} of ${claim.job.maxAttempts} started: ${step.description}`),
    ports.orders.markInProgress(message.orderId, now.toISOString()),
    ports.worker.busy(jobId),
  ]);

  const durationMs = message.simulate.stepDurationMs ?? step.durationMs;
  await workWithHeartbeats(durationMs, message.taskToken, jobId, attemptToken, ports, settings);

  if (simulatedFailure(message.simulate, step.name, attempt)) {
    const error = `Simulated failure of ${step.name} on attempt ${attempt}`;
    const owned = await ports.jobs.finish(jobId, attemptToken, {
      status: 'FAILED',
      at: ports.clock.now().toISOString(),
      queue: claim.job.queue,
      error,
    });
    if (!owned) return 'lost-ownership';
    await log('ERROR', error);
    await ports.workflow.stepFailed(message.taskToken, 'StepFailed', error);
    await ports.worker.idle('failed');
    return 'failed';
  }

  const completedAt = ports.clock.now().toISOString();
  const result = { durationMs, line: claim.job.queue };
  const owned = await ports.jobs.finish(jobId, attemptToken, {
    status: 'COMPLETED',
    at: completedAt,
    queue: claim.job.queue,
    result,
  });
  if (!owned) return 'lost-ownership';
  await log('INFO', `Attempt ${attempt} completed in ${durationMs} ms`);
  await ports.workflow.stepSucceeded(message.taskToken, { jobId, stepName: step.name, completedAt });
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
  if (!(job.status === 'RUNNING' && job.attemptToken === attemptToken)) {
    await ports.logs.append(job.jobId, {
      timestamp: ports.clock.now().toISOString(),
      level: 'INFO',
      message: `Duplicate delivery absorbed: the step is ${job.status}; its verdict was reported again`,
      attempt: job.attempts,
      workerId: ports.workerId,
    });
  }
  if (job.status === 'COMPLETED') {
    await ports.workflow.stepSucceeded(message.taskToken, {
      jobId: job.jobId,
      stepName: job.stepName ?? message.stepName,
      completedAt: job.completedAt ?? ports.clock.now().toISOString(),
    });
    return 'duplicate-reported';
  }
  if (job.status === 'RUNNING' && job.attemptToken === attemptToken) return 'in-flight-elsewhere';
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
  taskToken: string,
  jobId: string,
  attemptToken: string,
  ports: StepPorts,
  settings: StepRunSettings,
): Promise<void> {
  let remaining = durationMs;
  while (remaining > settings.heartbeatEveryMs) {
    await ports.clock.sleep(settings.heartbeatEveryMs);
    remaining -= settings.heartbeatEveryMs;
    const until = ports.clock.now().getTime() + settings.leaseMs;
    await Promise.all([
      ports.workflow.heartbeat(taskToken),
      ports.jobs.extendLease(jobId, attemptToken, until),
      ports.worker.busy(jobId),
    ]);
  }
  await ports.clock.sleep(remaining);
}
