/**
 * The life of a standalone job after submission: dispatch to its band's queue, one attempt on a
 * worker (claim → run with heartbeats, timeout and cancellation → settle), and the follow-ups
 * of a settled job (its retry, its dependents). docs/job-engine.md draws the state machine.
 *
 * Crash safety rests on one rule: a write that creates follow-up work also sets the job's
 * `dispatchAt` marker (a sparse, indexed attribute) in the same conditional write; the marker is
 * cleared only after the follow-up is done. The dispatcher sweeps markers that outlived their
 * grace period and redoes the follow-up. Every follow-up is idempotent, so doing one twice is
 * harmless and a crash between any two writes strands nothing.
 */

import * as z from 'zod';
import type { JobContext, JobType } from '#job-types/job-type';
import { PermanentJobError } from '#job-types/job-type';
import { adaptiveRetry, errorClassId, type FailureMark, type RetryEvidence } from './adaptive-retry.ts';
import { retryDelayMs } from './backoff.ts';
import { errorClassOf } from './error-classes.ts';
import { outcomeOfJob, tellSettled } from './job-outcome-metrics.ts';
import { type JobProgress, progressReporter } from './job-progress.ts';
import type { PriorityBand } from './job-queues.ts';
import { bandOf, priorityBands } from './job-queues.ts';
import {
  finishedJobStatuses,
  type JobLogEntry,
  type JobRecord,
  settledLineFits,
  waitingToStartBy,
} from './jobs.ts';
import { maxSlotReservations, slotLeadMs, waitInPlaceMs } from './rate-limits.ts';
import { type ReadyAheadMemo, wakeUpHeldAfterMs } from './ready-ahead-memo.ts';

/** SQS DelaySeconds stops at 15 minutes; later work waits in the marker index. */
export const sqsMaxDelayMs = 900_000;
/** Longer than any normal send, so the sweeper rarely sends what the API is still sending. */
export const defaultDispatchGraceMs = 15_000;

export interface DispatchPlan {
  /** Send to the band's queue now, with this delay. */
  readonly sendDelaySeconds?: number;
  /** When the sweeper should look at the job if the follow-up was not confirmed. */
  readonly dispatchAt: string;
}

/** How a runnable (or blocked) job reaches a worker from `now`. */
export function dispatchPlan(
  job: Pick<JobRecord, 'runAt' | 'waitingOn'>,
  now: Date,
  graceMs: number,
): DispatchPlan {
  const grace = new Date(now.getTime() + graceMs).toISOString();
  if (job.waitingOn && job.waitingOn.size > 0) return { dispatchAt: grace };
  const waitMs = Math.max(0, Date.parse(job.runAt ?? now.toISOString()) - now.getTime());
  if (waitMs <= sqsMaxDelayMs) return { sendDelaySeconds: Math.ceil(waitMs / 1000), dispatchAt: grace };
  // Picked up by a sweep (every minute) at most 14 minutes before it is due: within SQS's delay.
  return { dispatchAt: new Date(Date.parse(job.runAt as string) - (sqsMaxDelayMs - 60_000)).toISOString() };
}

export type Settlement =
  | {
      readonly status: 'COMPLETED';
      readonly result: Record<string, unknown>;
      /** The handler's last progress report, written with the settlement (no write of its own). */
      readonly progress?: JobProgress;
      /** The attempt's only log line, kept on the row (JobRecord.settledLine) instead of the log. */
      readonly line?: JobLogEntry;
    }
  | {
      readonly status: 'FAILED';
      readonly error: string;
      readonly runAt: string;
      readonly retryInMs: number;
      /** The failure's mark for the row (adaptive retry's evidence). */
      readonly failure?: FailureMark;
      /** Why the retry policy decided so, for the job's log (the adaptive policy's estimate). */
      readonly decision?: string;
    }
  | {
      readonly status: 'DEAD';
      readonly error: string;
      readonly failure?: FailureMark;
      readonly decision?: string;
    }
  | { readonly status: 'CANCELLED'; readonly reason: string };

/**
 * What an attempt's failure means for the job under its retry policy. The adaptive policy
 * decides from `evidence` (its type's history of this error class; none: the base schedule).
 */
export function settleFailure(
  job: JobRecord,
  error: string,
  permanent: boolean,
  now: Date,
  random: () => number,
  evidence?: RetryEvidence,
): Settlement {
  const failure: FailureMark = { n: job.attempts, c: failureClassOf(error), at: now.toISOString() };
  if (permanent || job.attempts >= job.maxAttempts) return { status: 'DEAD', error, failure };
  const backoff = job.backoff ?? { type: 'none', delayMs: 0, maxDelayMs: 0, jitter: false };
  const adaptive =
    backoff.type === 'adaptive' ? adaptiveRetry(backoff, job.attempts, evidence, random) : undefined;
  if (adaptive && !adaptive.retry) return { status: 'DEAD', error, failure, decision: adaptive.explanation };
  const retryInMs = adaptive?.delayMs ?? retryDelayMs(backoff, job.attempts, random);
  return {
    status: 'FAILED',
    error,
    retryInMs,
    runAt: new Date(now.getTime() + retryInMs).toISOString(),
    failure,
    ...(adaptive ? { decision: adaptive.explanation } : {}),
  };
}

/** The class id of an error message, as `settleFailure` marks it (the evidence's key). */
export const failureClassOf = (error: string): string => errorClassId(errorClassOf(error).key);

export interface JobClaimRequest {
  readonly token: string;
  readonly workerId: string;
  readonly now: Date;
  readonly leaseMs: number;
  readonly queue: string;
  /**
   * Listed as RUNNING by the claim itself: a job claimed without its own wake-up in hand (claimBest
   * overtaking) may have none in its queue, so nothing would bring it back from an unlisted claim.
   */
  readonly listed?: boolean;
}

export interface JobEnginePort {
  get(jobId: string): Promise<JobRecord | undefined>;
  /**
   * RUNNING with a fresh token and lease, if the job is a runnable job of `queue` now; else the
   * job as it is. Unlisted (left on `ready`, in no RUNNING partition) unless `listed`.
   */
  claim(
    jobId: string,
    request: JobClaimRequest,
  ): Promise<{ kind: 'claimed'; job: JobRecord } | { kind: 'not-runnable'; job: JobRecord | undefined }>;
  /**
   * Extends the lease; tells whether cancellation was asked for or the attempt is no longer ours.
   * With `listAs` (the job's queue), an attempt claimed unlisted is listed as RUNNING too.
   */
  extendLease(
    jobId: string,
    token: string,
    until: number,
    listAs?: string,
  ): Promise<'ok' | 'cancel-requested' | 'lost'>;
  /** Records the attempt's progress, if the attempt is still the job's (conditional on the token). */
  recordProgress(jobId: string, token: string, progress: JobProgress): Promise<void>;
  /** Conditional on the token and RUNNING; the settled job, or undefined when not ours any more. */
  settle(
    job: JobRecord,
    token: string,
    settlement: Settlement,
    now: Date,
    plan?: DispatchPlan,
  ): Promise<JobRecord | undefined>;
  /** Removes the marker if it still has this value. */
  clearMarker(jobId: string, dispatchAt: string): Promise<void>;
  /** Moves a marker on (e.g. a long delay not yet within SQS's reach). */
  moveMarker(jobId: string, from: string, to: string): Promise<void>;
  /** Removes `dependencyId` from the dependent's waitingOn; the dependent afterwards. */
  satisfy(dependentId: string, dependencyId: string): Promise<JobRecord | undefined>;
  /** PENDING and no longer waiting → runnable, with a marker; undefined when not (any more) so. */
  release(job: JobRecord, now: Date, plan: DispatchPlan): Promise<JobRecord | undefined>;
  /** Cancels a job that has not started; with a marker when it has dependents to cancel. */
  cancel(job: JobRecord, reason: string, now: Date): Promise<JobRecord | undefined>;
  /** Adds `dependentId` to the dependency's dependents unless the dependency has finished. */
  register(dependencyId: string, dependentId: string): Promise<'registered' | 'finished'>;
  /**
   * Runnable jobs of the band with a better priority than `priority` (most urgent first, then
   * longest due), from the ready index: eventually consistent, a hint to claim, never the truth.
   */
  readyAhead?(
    queue: string,
    band: PriorityBand,
    priority: number,
    now: Date,
    limit: number,
  ): Promise<string[]>;
  /**
   * Rate limit: gives the attempt back; the job waits in line for its start slot. Undefined if
   * the attempt is no longer this one's, or if a cancel was asked while it held its claim.
   */
  postpone?(
    job: JobRecord,
    token: string,
    slotAt: number,
    runAt: string,
    now: Date,
    plan: DispatchPlan,
  ): Promise<JobRecord | undefined>;
  /** Rate limit: the attempt really starts now (its slot reached). */
  markStarted?(job: JobRecord, token: string, at: Date): Promise<JobRecord | undefined>;
}

/**
 * A band queue's message: a wake-up call for a job (the row is the truth). It carries the job's
 * priority so that a worker can look for better work in the band first, and how often the job
 * already gave way, so that giving way stays bounded.
 */
export const jobWakeUpSchema = z.object({
  jobId: z.string().min(1),
  priority: z.int().min(0).max(10).optional(),
  deferrals: z.int().min(0).optional(),
});
export type JobWakeUp = z.infer<typeof jobWakeUpSchema>;

export const wakeUpOf = (job: Pick<JobRecord, 'jobId' | 'priority'>): JobWakeUp => ({
  jobId: job.jobId,
  priority: job.priority,
});

/** How often a job gives way to better work in its band before it runs regardless (no starvation). */
export const maxDeferrals = 3;

export interface JobQueuePort {
  send(queue: string, band: PriorityBand, wakeUp: JobWakeUp, delaySeconds: number): Promise<void>;
}

export interface JobLogPort {
  append(jobId: string, entry: JobLogEntry): Promise<void>;
}

export interface FollowUpPorts {
  readonly jobs: JobEnginePort;
  readonly queue: JobQueuePort;
  readonly logs: JobLogPort;
  readonly clock: { now(): Date };
  readonly graceMs: number;
  readonly actor: string;
}

/** A job log line written by `ports.actor` now, for the job's current attempt. */
export const logEntry = (
  ports: Pick<FollowUpPorts, 'clock' | 'actor'>,
  job: JobRecord,
  level: JobLogEntry['level'],
  message: string,
): JobLogEntry => ({
  timestamp: ports.clock.now().toISOString(),
  level,
  message,
  attempt: job.attempts,
  workerId: ports.actor,
});

/** Sends a runnable job to its band queue and clears its marker. A failed send keeps the marker. */
export async function dispatch(job: JobRecord, ports: FollowUpPorts): Promise<void> {
  const now = ports.clock.now();
  if (!job.dispatchAt) return;
  const plan = dispatchPlan(job, now, ports.graceMs);
  if (plan.sendDelaySeconds === undefined) {
    if (plan.dispatchAt !== job.dispatchAt && Date.parse(plan.dispatchAt) > now.getTime())
      await ports.jobs.moveMarker(job.jobId, job.dispatchAt, plan.dispatchAt);
    return;
  }
  await ports.queue.send(job.queue, bandOf(job.priority), wakeUpOf(job), plan.sendDelaySeconds);
  await ports.jobs.clearMarker(job.jobId, job.dispatchAt);
}

/**
 * Finishes whatever the job's marker stands for: a send for a runnable job, the registration
 * with its dependencies for a blocked one, the dependents of a finished one. Idempotent.
 */
export async function completeFollowUps(job: JobRecord, ports: FollowUpPorts, depth = 0): Promise<void> {
  if (!job.dispatchAt) return;
  if (job.kind !== 'job') return ports.jobs.clearMarker(job.jobId, job.dispatchAt);
  const marker = job.dispatchAt;
  switch (job.status) {
    case 'QUEUED':
    case 'RETRYING':
    case 'FAILED':
    case 'PENDING': {
      if (job.waitingOn && job.waitingOn.size > 0) {
        const current = await registerWithDependencies(job, ports, depth);
        if (!current) return;
        if (current.status !== 'PENDING' || (current.waitingOn?.size ?? 0) > 0) {
          if (current.dispatchAt === marker) await ports.jobs.clearMarker(job.jobId, marker);
          return;
        }
        return dispatch(current, ports);
      }
      return dispatch(job, ports);
    }
    case 'RUNNING':
      return ports.jobs.clearMarker(job.jobId, marker);
    case 'COMPLETED':
    case 'DEAD':
    case 'CANCELLED': {
      for (const dependentId of [...(job.dependents ?? [])].sort()) {
        if (job.status === 'COMPLETED') await releaseDependent(dependentId, job.jobId, ports);
        else await cancelDependent(dependentId, `Dependency ${job.jobId} ended ${job.status}`, ports, depth);
      }
      return ports.jobs.clearMarker(job.jobId, marker);
    }
  }
}

/** Registers a blocked job with each dependency; settles those that finished meanwhile. */
async function registerWithDependencies(
  job: JobRecord,
  ports: FollowUpPorts,
  depth: number,
): Promise<JobRecord | undefined> {
  let current: JobRecord | undefined = job;
  for (const dependencyId of [...(job.waitingOn ?? [])].sort()) {
    if ((await ports.jobs.register(dependencyId, job.jobId)) === 'registered') continue;
    const dependency = await ports.jobs.get(dependencyId);
    if (dependency?.status === 'COMPLETED') current = await ports.jobs.satisfy(job.jobId, dependencyId);
    else {
      await cancelDependent(
        job.jobId,
        `Dependency ${dependencyId} ended ${dependency?.status ?? 'DELETED'}`,
        ports,
        depth,
      );
      return ports.jobs.get(job.jobId);
    }
  }
  return current && (current.waitingOn?.size ?? 0) === 0 ? ports.jobs.get(job.jobId) : current;
}

async function releaseDependent(
  dependentId: string,
  dependencyId: string,
  ports: FollowUpPorts,
): Promise<void> {
  const dependent = await ports.jobs.satisfy(dependentId, dependencyId);
  if (dependent?.status !== 'PENDING' || (dependent.waitingOn?.size ?? 0) > 0) return;
  const now = ports.clock.now();
  const released = await ports.jobs.release(
    dependent,
    now,
    dispatchPlan({ runAt: dependent.runAt }, now, ports.graceMs),
  );
  if (!released) return;
  await ports.logs.append(
    dependentId,
    logEntry(ports, released, 'INFO', `Dependencies completed (last: ${dependencyId}); job released`),
  );
  await dispatch(released, ports);
}

async function cancelDependent(
  dependentId: string,
  reason: string,
  ports: FollowUpPorts,
  depth: number,
): Promise<void> {
  const dependent = await ports.jobs.get(dependentId);
  if (!dependent || finishedJobStatuses.includes(dependent.status) || dependent.status === 'RUNNING') return;
  const cancelled = await ports.jobs.cancel(dependent, reason, ports.clock.now());
  if (!cancelled) return;
  await ports.logs.append(dependentId, logEntry(ports, cancelled, 'WARN', `Cancelled: ${reason}`));
  // Dependency chains are short in practice; a deep one is finished by the sweeper's next pass.
  if (depth < 50) await completeFollowUps(cancelled, ports, depth + 1);
}

export interface AttemptPorts extends FollowUpPorts {
  readonly types: ReadonlyMap<string, JobType>;
  /** The queue's start slot when it is rate limited (epoch ms), undefined when it is not. */
  readonly rateLimiter?: {
    reserve(queue: string, now: number): Promise<{ slot: number; toleranceMs: number } | undefined>;
    toleranceMs(queue: string, now: number): Promise<number | undefined>;
  };
  readonly worker: {
    busy(jobId: string): Promise<void>;
    idle(outcome: 'completed' | 'failed'): Promise<void>;
  };
  readonly clock: { now(): Date; sleep(ms: number, signal?: AbortSignal): Promise<void> };
  readonly random: () => number;
  readonly newToken: () => string;
  /** A type's history of an error class, for the adaptive retry policy (none: its base schedule). */
  readonly retryEvidence?: { of(type: string, errorClass: string): Promise<RetryEvidence> };
  readonly services: Pick<JobContext, 'outbox' | 'artifacts' | 'jobsData' | 'outbound'>;
  /** This worker's memory of empty ready-index answers (claimBest skips a query it answers). */
  readonly readyAhead?: ReadyAheadMemo;
  /**
   * The rows of the band's jobs on the ready index ranked at or before `dueBy`, at most `limit`
   * a priority, best priority first and longest due first within it (eventually consistent): where
   * claimBest looks for jobs whose wake-up is held. Only with `readyAhead`, which paces the looks.
   */
  readonly overdueInBand?: (
    queue: string,
    band: PriorityBand,
    dueBy: Date,
    limit: number,
  ) => Promise<readonly JobRecord[]>;
  /**
   * Told of each attempt this worker settled, once its settlement is written (the outcome
   * metrics: a log line, no AWS call). Whatever it throws is ignored: the attempt is settled.
   */
  readonly settled?: (attempt: SettledAttempt) => void;
  /**
   * Settles an attempt whose worker died before listing it (lease recovery's verdict,
   * domain/lease-recovery.ts): its wake-up, back from the dead invocation, is the only trace
   * of it. Without it such a wake-up is left for redelivery.
   */
  readonly recoverUnlisted?: (jobId: string) => Promise<'recovered' | 'not-expired'>;
}

/**
 * A wake-up for a job whose attempt runs unlisted on another worker (or on one that died, its
 * lease not yet out): thrown so that SQS brings the wake-up back, instead of absorbing it — it
 * is the attempt's only way back should its worker be gone (`recoverUnlisted`).
 */
export class UnlistedAttemptRunning extends Error {
  /** When the wake-up should be back: just after the lease runs out (shared/sqs-batch.ts). */
  readonly redeliverAfterSeconds: number;
  constructor(jobId: string, leaseExpiresAt: number | undefined, now: Date) {
    super(
      `Job ${jobId} runs unlisted on another worker (lease until ${new Date(leaseExpiresAt ?? 0).toISOString()}): its wake-up comes back`,
    );
    this.redeliverAfterSeconds = Math.max(1, Math.ceil(((leaseExpiresAt ?? 0) - now.getTime()) / 1000) + 1);
  }
}

/** A claimed attempt not listed as RUNNING yet (store.claim): still on `ready`. */
export const isUnlistedAttempt = (job: Pick<JobRecord, 'status' | 'readyKey' | 'queueStatus'>): boolean =>
  job.status === 'RUNNING' && job.readyKey !== undefined && job.queueStatus === undefined;

/** An attempt as it was settled: what the outcome metrics count and time. */
export interface SettledAttempt {
  readonly queue: string;
  readonly type: string;
  readonly status: Settlement['status'];
  readonly attempt: number;
  /** How long the job's handler ran. */
  readonly ranMs: number;
  /** From when the attempt was due (runAt, else the job's creation) to its start; absent if unknown. */
  readonly waitedMs?: number;
}

export interface AttemptSettings {
  readonly leaseMs: number;
  readonly heartbeatEveryMs: number;
  /** How long an attempt runs before its start line is written on its own (default 1 s). */
  readonly startLineAfterMs?: number;
  /**
   * How long an attempt runs unlisted before its first heartbeat lists it as RUNNING (default
   * 1 s): a shorter one never gets a listing entry of its own (2 write units a job less).
   */
  readonly listRunningAfterMs?: number;
}

export type AttemptOutcome =
  | 'completed'
  | 'retrying'
  | 'dead'
  | 'cancelled'
  | 'absorbed'
  | 'recovered'
  | 'lost-ownership'
  | 'rate-limited';

class Abort extends Error {
  constructor(
    readonly why: 'timeout' | 'cancelled' | 'lost',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Why an attempt's signal aborts once it is over: one error for every attempt, not one each
 * (frozen: work a handler left running sees the same object in every attempt).
 */
const attemptOver = Object.freeze(new Abort('timeout', 'attempt over'));

/**
 * A job type's `context.sleep` ended by its signal rejects as Node's own sleep does: a new
 * AbortError ("The operation was aborted", code ABORT_ERR) whose cause is the signal's reason.
 * The worker's clock rejects with the reason itself, which is cheaper for the attempt's own
 * timers; a handler must not get the attempt's Abort, which its outcome is recorded from.
 */
function asAbortError(signal: AbortSignal, error: unknown): unknown {
  if (!signal.aborted || error !== signal.reason) return error;
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/**
 * Within a band, a higher priority starts first: SQS delivers a band's messages in no order of
 * priority, so the worker holding one first looks in the ready index for better work of the
 * band. If it claims such a job, it runs that one instead and puts its own job's wake-up call
 * back in line (sent before the claim, so that the job is never left without one), counting the
 * deferral; after `maxDeferrals` the job runs when its call comes, whatever waits.
 *
 * With no better work found, every `heldLookEveryMs` a worker environment looks in each priority
 * of the band for jobs waiting to start since more than `wakeUpHeldAfterMs` ago: in a busy band
 * that is how a job whose wake-up a dead invocation holds is found (the dispatcher's backstop
 * sends new wake-ups to quiet bands only). Found, it is run the same way, ahead of the wake-up's
 * own job.
 */
async function claimBest(
  wakeUp: JobWakeUp,
  queue: string,
  ports: AttemptPorts,
  request: JobClaimRequest,
): Promise<Awaited<ReturnType<JobEnginePort['claim']>> & { overtook?: string; overdue?: boolean }> {
  const { priority, deferrals = 0 } = wakeUp;
  const band = priority === undefined ? undefined : priorityBands.find((b) => b.name === bandOf(priority));
  if (!band || priority === undefined || deferrals >= maxDeferrals)
    return ports.jobs.claim(wakeUp.jobId, request);
  const memo = ports.readyAhead;
  let ahead: string[] = [];
  if (ports.jobs.readyAhead && priority > band.min) {
    const better = memo?.known(queue, band.name, priority, request.now)
      ? []
      : (
          await ports.jobs.readyAhead(queue, band.name, priority, request.now, 3).catch(() => undefined)
        )?.filter((id) => id !== wakeUp.jobId);
    if (better?.length === 0) memo?.note(queue, band.name, priority, request.now);
    ahead = better ?? [];
  }
  // Better work first; with none, a job whose wake-up is held (at most once in the window).
  const overdue = ahead.length === 0 && (memo?.lookForHeld(queue, band.name, request.now) ?? false);
  if (overdue) ahead = await overdueAhead(wakeUp.jobId, queue, band.name, ports, request.now);
  if (ahead.length > 0) {
    memo?.forget(queue, band.name);
    await ports.queue.send(queue, band.name, { ...wakeUp, deferrals: deferrals + 1 }, 0);
    for (const candidate of ahead) {
      // Its wake-up is somewhere else, or nowhere yet (a send the sweep will redo): listed now.
      const claim = await ports.jobs.claim(candidate, { ...request, listed: true });
      if (claim.kind === 'claimed') return { ...claim, overtook: wakeUp.jobId, overdue };
    }
    // Nothing better could be had after all: the own job runs (its re-sent call will be absorbed).
  }
  return ports.jobs.claim(wakeUp.jobId, request);
}

/** Jobs of the band waiting to start since `wakeUpHeldAfterMs` ago or longer: their wake-up is held. */
async function overdueAhead(
  ownJobId: string,
  queue: string,
  band: PriorityBand,
  ports: AttemptPorts,
  now: Date,
): Promise<string[]> {
  if (!ports.overdueInBand) return [];
  const dueBy = new Date(now.getTime() - wakeUpHeldAfterMs);
  // Three a priority: attempts that died in their first second keep their entry until their
  // wake-up comes back, and two of them must not hide a held job.
  const rows = await ports.overdueInBand(queue, band, dueBy, 3).catch(() => []);
  return rows
    .filter((job) => job.jobId !== ownJobId && waitingToStartBy(job, dueBy))
    .map((job) => job.jobId)
    .slice(0, 3);
}

/** One delivery of a job message: claim (the best job of the band), run, settle, follow up. */
export async function runJobAttempt(
  wakeUp: JobWakeUp,
  queue: string,
  ports: AttemptPorts,
  settings: AttemptSettings,
  /** `listed`: told once the attempt is listed as RUNNING (lease recovery can find it from then). */
  hooks: { readonly listed?: () => void } = {},
): Promise<AttemptOutcome> {
  const token = ports.newToken();
  const claim = await claimBest(wakeUp, queue, ports, {
    token,
    workerId: ports.actor,
    now: ports.clock.now(),
    leaseMs: settings.leaseMs,
    queue,
  });
  if (claim.kind === 'not-runnable') {
    const job = claim.job;
    const jobId = wakeUp.jobId;
    if (job && isUnlistedAttempt(job)) {
      // Running unlisted: alive, it is listed or settled within a second; dead, its lease runs
      // out and this wake-up is what brings the job back.
      if ((job.leaseExpiresAt ?? 0) >= ports.clock.now().getTime() || !ports.recoverUnlisted)
        throw new UnlistedAttemptRunning(jobId, job.leaseExpiresAt, ports.clock.now());
      if ((await ports.recoverUnlisted(jobId)) === 'recovered') return 'recovered';
      throw new UnlistedAttemptRunning(jobId, job.leaseExpiresAt, ports.clock.now());
    }
    // A duplicate or early delivery: the job's state says what to do, and it is never "run again".
    if (job && (finishedJobStatuses.includes(job.status) || job.status === 'RUNNING')) {
      await ports.logs.append(
        jobId,
        logEntry(ports, job, 'INFO', `Duplicate delivery absorbed: the job is ${job.status}`),
      );
    }
    return 'absorbed';
  }
  let job = claim.job;
  const jobId = job.jobId;
  const type = ports.types.get(job.type);
  const append = (level: JobLogEntry['level'], message: string) =>
    ports.logs.append(jobId, { ...logEntry(ports, job, level, message), attempt: job.attempts });
  // A cancel asked while the attempt waited for its rate-limit slot: settled CANCELLED below,
  // the handler never started.
  let cancelledBeforeStart = false;
  if (ports.rateLimiter) {
    const gate = await passRateLimit(job, token, ports);
    if (gate === 'postponed') return 'rate-limited';
    if (gate === 'lost') return 'lost-ownership';
    if (gate === 'cancel-requested') cancelledBeforeStart = true;
    else job = gate;
  }
  // The start line is written when the attempt outlives `startLineAfterMs`, logs something or
  // does not complete; a short attempt that completes writes one line for its start and end
  // (one log write per attempt instead of two). Either way it carries the start's timestamp.
  const startLine =
    `Attempt ${job.attempts} of ${job.maxAttempts} started on ${job.queue}` +
    (claim.overtook === undefined
      ? ''
      : claim.overdue
        ? ` (due since ${job.runAt ?? job.createdAt}, its wake-up overdue; ahead of ${claim.overtook})`
        : ` (priority ${job.priority}, ahead of ${claim.overtook})`);
  const startedAt = ports.clock.now().toISOString();
  let startLogged: Promise<void> | undefined;
  const logStart = () => {
    startLogged ??= ports.logs.append(jobId, {
      ...logEntry(ports, job, 'INFO', startLine),
      timestamp: startedAt,
      attempt: job.attempts,
    });
    return startLogged;
  };
  const log = async (level: JobLogEntry['level'], message: string) => {
    await logStart();
    await append(level, message);
  };
  await ports.worker.busy(jobId);

  const controller = new AbortController();
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  const timeoutMs = job.timeoutMs ?? 60_000;
  const timer = setTimeout(
    () => controller.abort(new Abort('timeout', `Timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  let beating = true;
  // A claim lists nothing (store.claim) unless it overtook: the first beat, after
  // `listRunningAfterMs`, lists the attempt as RUNNING; a beat that fails to leaves that to the
  // next. A row that was not on `ready` either (none is, today: every startable state is written
  // with its ready keys) would be in no index at all, so it is listed at once.
  let unlisted = job.queueStatus === undefined;
  if (!unlisted) hooks.listed?.();
  const heartbeat = (async () => {
    while (beating && !controller.signal.aborted) {
      const listing = unlisted;
      const beatAfterMs = !listing
        ? settings.heartbeatEveryMs
        : isUnlistedAttempt(job)
          ? Math.min(settings.listRunningAfterMs ?? 1_000, settings.heartbeatEveryMs)
          : 0;
      await ports.clock.sleep(beatAfterMs, controller.signal).catch(() => undefined);
      if (!beating || controller.signal.aborted) return;
      const lease = await ports.jobs
        .extendLease(
          jobId,
          token,
          ports.clock.now().getTime() + settings.leaseMs,
          listing ? job.queue : undefined,
        )
        .then((answer) => {
          if (listing && answer !== 'lost') {
            unlisted = false;
            hooks.listed?.();
          }
          return answer;
        })
        .catch(() => 'ok' as const);
      if (lease === 'cancel-requested') controller.abort(new Abort('cancelled', 'Cancelled while running'));
      else if (lease === 'lost') controller.abort(new Abort('lost', 'The attempt lost its lease'));
      else await ports.worker.busy(jobId).catch(() => undefined);
    }
  })();

  const startLineTimer = ports.clock.sleep(settings.startLineAfterMs ?? 1_000, controller.signal).then(
    () => (controller.signal.aborted ? undefined : logStart()),
    () => undefined,
  );
  const started = performance.now();
  const progress = progressReporter((p) => ports.jobs.recordProgress(jobId, token, p), ports.clock);
  let lastProgress: JobProgress | undefined;
  let settlement: Settlement | undefined;
  let failed: { message: string; permanent: boolean } | undefined;
  try {
    if (cancelledBeforeStart) throw new Abort('cancelled', 'Cancelled while waiting for its rate-limit slot');
    if (!type) throw new PermanentJobError(`No handler for job type ${job.type} on this worker`);
    const context: JobContext = {
      jobId,
      queue: job.queue,
      attempt: job.attempts,
      signal: controller.signal,
      now: () => ports.clock.now(),
      random: ports.random,
      sleep: (ms, signal) =>
        ports.clock.sleep(ms, signal).catch((error: unknown) => {
          throw asAbortError(signal, error);
        }),
      log,
      progress: (percent, message) => progress.report(percent, message),
      ...ports.services,
    };
    const result = await Promise.race([type.run(job.payload ?? {}, context), aborted]);
    settlement = { status: 'COMPLETED', result };
  } catch (caught) {
    const error = controller.signal.aborted ? controller.signal.reason : caught;
    if (error instanceof Abort && error.why === 'lost') {
      beating = false;
      clearTimeout(timer);
      await log('WARN', 'Attempt abandoned: its lease was taken over');
      return 'lost-ownership';
    }
    if (error instanceof Abort && error.why === 'cancelled')
      settlement = { status: 'CANCELLED', reason: 'Cancelled while running (DELETE /jobs/{id})' };
    else
      failed = {
        message: (error as Error)?.message ?? String(error),
        permanent: error instanceof PermanentJobError,
      };
  } finally {
    beating = false;
    clearTimeout(timer);
    controller.abort(attemptOver);
    lastProgress = await progress.close();
  }
  await Promise.all([heartbeat, startLineTimer]);
  const ranMs = Math.round(performance.now() - started);
  if (failed) {
    // The adaptive policy's evidence is read only when an attempt of it fails; a failed read
    // leaves the base schedule in charge.
    const evidence =
      job.backoff?.type === 'adaptive' && !failed.permanent && job.attempts < job.maxAttempts
        ? await ports.retryEvidence?.of(job.type, failureClassOf(failed.message)).catch(() => undefined)
        : undefined;
    settlement = settleFailure(
      job,
      failed.message,
      failed.permanent,
      ports.clock.now(),
      ports.random,
      evidence,
    );
  }
  if (!settlement) throw new Error('unreachable: an attempt ends completed, cancelled or failed');
  if (settlement.status === 'COMPLETED' && lastProgress)
    settlement = { ...settlement, progress: lastProgress };
  // A short attempt that completes has one line; it rides on the settle when the row has room.
  const onlyLine: JobLogEntry | undefined =
    settlement.status === 'COMPLETED' && !startLogged
      ? {
          ...logEntry(ports, job, 'INFO', `${startLine}; completed in ${ranMs} ms`),
          timestamp: startedAt,
          attempt: job.attempts,
        }
      : undefined;
  if (
    settlement.status === 'COMPLETED' &&
    onlyLine &&
    settledLineFits(
      job,
      {
        status: 'COMPLETED',
        result: settlement.result,
        progress: settlement.progress,
        completedAt: startedAt,
        updatedAt: startedAt,
        expiresAt: 9_999_999_999,
      },
      onlyLine,
    )
  )
    settlement = { ...settlement, line: onlyLine };

  const now = ports.clock.now();
  const plan =
    settlement.status === 'FAILED'
      ? dispatchPlan({ runAt: settlement.runAt }, now, ports.graceMs)
      : undefined;
  const settled = await ports.jobs.settle(job, token, settlement, now, plan);
  if (!settled) {
    await log('WARN', `Attempt ${job.attempts} finished after losing its lease; its outcome was discarded`);
    return 'lost-ownership';
  }
  tellSettled<SettledAttempt>(ports.settled, { ...outcomeOfJob(job, settlement.status, startedAt), ranMs });
  switch (settlement.status) {
    case 'COMPLETED':
      if (startLogged) await log('INFO', `Attempt ${job.attempts} completed in ${ranMs} ms`);
      else if (onlyLine && !settlement.line) await ports.logs.append(jobId, onlyLine);
      break;
    case 'FAILED':
      await log(
        'WARN',
        `Attempt ${job.attempts} failed after ${ranMs} ms: ${settlement.error}; retry in ${settlement.retryInMs} ms (at ${settlement.runAt})${settlement.decision ? `; ${settlement.decision}` : ''}`,
      );
      break;
    case 'DEAD':
      await log(
        'ERROR',
        settlement.decision
          ? `Attempt ${job.attempts} failed after ${ranMs} ms: ${settlement.error}; ${settlement.decision}: DEAD`
          : `Attempt ${job.attempts} failed after ${ranMs} ms: ${settlement.error}; no retries left: DEAD`,
      );
      break;
    case 'CANCELLED':
      await log('WARN', `Cancelled while running, after ${ranMs} ms`);
      break;
  }
  await completeFollowUps(settled, ports);
  await ports.worker.idle(settlement.status === 'COMPLETED' ? 'completed' : 'failed');
  return settlement.status === 'COMPLETED'
    ? 'completed'
    : settlement.status === 'FAILED'
      ? 'retrying'
      : settlement.status === 'DEAD'
        ? 'dead'
        : 'cancelled';
}

/**
 * Holds the attempt to its queue's rate limit: a reserved slot within a couple of seconds is
 * waited for here (and `startedAt` moved to it); a later slot puts the job back in line, due at
 * its slot, with the attempt given back — delayed, not failed.
 */
async function passRateLimit(
  job: JobRecord,
  token: string,
  ports: AttemptPorts,
): Promise<JobRecord | 'postponed' | 'lost' | 'cancel-requested'> {
  const limiter = ports.rateLimiter;
  const store = ports.jobs;
  if (!limiter || !store.postpone || !store.markStarted) return job;
  // A job postponed earlier already holds its slot.
  let held =
    job.rateSlotAt === undefined
      ? undefined
      : await limiter
          .toleranceMs(job.queue, ports.clock.now().getTime())
          .then((toleranceMs) =>
            toleranceMs === undefined ? undefined : { slot: job.rateSlotAt as number, toleranceMs },
          );
  if (job.rateSlotAt !== undefined && !held) return job; // the limit was removed meanwhile
  for (let reservation = 1; ; reservation++) {
    const now = ports.clock.now();
    const reserved = held ?? (await limiter.reserve(job.queue, now.getTime() + slotLeadMs));
    held = undefined;
    if (!reserved) return job;
    const { slot } = reserved;
    // Measured after the reservation, which itself takes time.
    const waitMs = slot - ports.clock.now().getTime();
    if (waitMs > waitInPlaceMs || reservation > maxSlotReservations) {
      // Due a little before the slot (SQS delays are whole seconds); the rest is waited here.
      const runAt = new Date(now.getTime() + Math.max(0, Math.floor(waitMs / 1000)) * 1000).toISOString();
      const postponed = await store.postpone(
        job,
        token,
        slot,
        runAt,
        now,
        dispatchPlan({ runAt }, now, ports.graceMs),
      );
      if (!postponed) {
        // Refused: the attempt is another's now, or a cancel was asked while it held its claim.
        const current = await store.get(job.jobId);
        return current?.attemptToken === token && current.status === 'RUNNING' && current.cancelRequestedAt
          ? 'cancel-requested'
          : 'lost';
      }
      await ports.logs.append(
        job.jobId,
        logEntry(
          ports,
          postponed,
          'INFO',
          `Rate limit of ${job.queue}: start slot ${new Date(slot).toISOString()}; job put back in line`,
        ),
      );
      await dispatch(postponed, ports);
      return 'postponed';
    }
    if (waitMs > 0) await ports.clock.sleep(waitMs);
    const at = ports.clock.now();
    // Too late for its slot (a busy machine): starting now could crowd the next window.
    if (at.getTime() - slot > reserved.toleranceMs) continue;
    // Recorded as soon as the slot is reached; the log line follows.
    const started = await store.markStarted(job, token, at);
    await ports.logs.append(
      job.jobId,
      logEntry(
        ports,
        job,
        'INFO',
        `Rate limit of ${job.queue}: start slot ${new Date(slot).toISOString()} (waited ${Math.max(0, waitMs)} ms)`,
      ),
    );
    return started ?? 'lost';
  }
}
