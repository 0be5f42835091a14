/**
 * Attempts whose worker stopped heartbeating (the lease in the job row ran out): the job
 * dispatcher finds them in the lease index and settles them here. The attempt failed; a
 * standalone job is retried or goes DEAD under its own policy, a robot step is reported to its
 * workflow as StepLost, whose retry policy takes it from there (a lost worker is an attempt). A
 * job whose cancel was asked while it ran is CANCELLED instead, as its worker would have left it.
 * Either is told as a worker's settled attempt would be (the outcome metrics), without a run time.
 */
import {
  completeFollowUps,
  dispatchPlan,
  type FollowUpPorts,
  type Settlement,
  settleFailure,
} from './job-lifecycle.ts';
import { outcomeOfJob, type SettledOutcome, tellSettled } from './job-outcome-metrics.ts';
import type { JobRecord } from './jobs.ts';
import { failedStepStatus } from './step-attempt.ts';

export interface LeaseRecoveryPorts extends FollowUpPorts {
  readonly store: FollowUpPorts['jobs'] & {
    /** The step attempt marked FAILED, if its lease is still the expired one. */
    abandonStepAttempt(job: JobRecord, error: string, now: Date): Promise<JobRecord | undefined>;
    /** The job settled, if its lease is still the expired one. */
    expireLease(
      job: JobRecord,
      settlement: Settlement,
      now: Date,
      plan?: { dispatchAt: string },
    ): Promise<JobRecord | undefined>;
  };
  readonly workflow: { stepFailed(taskToken: string, error: string, cause: string): Promise<void> };
  /** The worker's row says lost, if it wrote nothing since `silentSince` (the worker.lost event). */
  readonly workers: { markLost(workerId: string, silentSince: Date, now: Date): Promise<unknown> };
  readonly random: () => number;
  /**
   * Told of each lost attempt settled here (the outcome metrics: a log line, no AWS call).
   * Whatever it throws is ignored: the attempt is settled.
   */
  readonly settled?: (attempt: SettledOutcome) => void;
}

export type RecoveryOutcome = 'recovered' | 'not-expired';

export async function recoverExpiredLease(
  jobId: string,
  ports: LeaseRecoveryPorts,
): Promise<RecoveryOutcome> {
  const now = ports.clock.now();
  const job = await ports.store.get(jobId);
  if (job?.status !== 'RUNNING' || (job.leaseExpiresAt ?? 0) >= now.getTime()) return 'not-expired';
  const lost = `Worker ${job.workerId ?? '?'} stopped heartbeating (lease expired ${new Date(job.leaseExpiresAt ?? 0).toISOString()})`;
  const attempt = `Attempt ${job.attempts} of ${job.maxAttempts}`;
  const log = (message: string) =>
    ports.logs.append(jobId, {
      timestamp: now.toISOString(),
      level: 'WARN',
      message,
      attempt: job.attempts,
      workerId: ports.actor,
    });

  if (job.kind === 'step') {
    const error = `${attempt} lost: ${lost}`;
    // Reported first: should the write below fail, the lease is still expired and the next
    // sweep reports again (a second report of a settled task is ignored by the workflow).
    if (job.taskToken) await ports.workflow.stepFailed(job.taskToken, 'StepLost', error);
    const abandoned = await ports.store.abandonStepAttempt(job, error, now);
    if (!abandoned) return 'not-expired';
    // How long a vanished worker ran is known only to within its lease: no run time.
    tellSettled(ports.settled, outcomeOfJob(job, failedStepStatus(job), job.startedAt));
    await log(`${error}; the workflow retries the step per its policy`);
    await reportLost(job, now, ports);
    return 'recovered';
  }

  // A cancel asked while it ran (DELETE /jobs/{id}) ends the job CANCELLED, as its worker would
  // have at its next heartbeat: not retried because the worker died before it could.
  const settlement: Settlement = job.cancelRequestedAt
    ? { status: 'CANCELLED', reason: `Cancelled while running (DELETE /jobs/{id}); ${lost}` }
    : settleFailure(job, `${attempt} lost: ${lost}`, false, now, ports.random);
  const plan =
    settlement.status === 'FAILED'
      ? dispatchPlan({ runAt: settlement.runAt }, now, ports.graceMs)
      : undefined;
  const settled = await ports.store.expireLease(job, settlement, now, plan);
  if (!settled) return 'not-expired';
  tellSettled(ports.settled, outcomeOfJob(job, settlement.status, job.startedAt));
  await log(`${attempt} lost: ${lost}; job is ${settled.status}`);
  await completeFollowUps(settled, ports);
  await reportLost(job, now, ports);
  return 'recovered';
}

/**
 * After the job is settled: the worker's row is news, not state the job depends on, so a
 * failure to mark it leaves the recovery done (the sweep's log says why).
 */
async function reportLost(job: JobRecord, now: Date, ports: LeaseRecoveryPorts): Promise<void> {
  if (!job.workerId) return;
  try {
    await ports.workers.markLost(job.workerId, new Date(job.leaseExpiresAt ?? now.getTime()), now);
  } catch (error) {
    await ports.logs.append(job.jobId, {
      timestamp: now.toISOString(),
      level: 'WARN',
      message: `Could not mark worker ${job.workerId} lost: ${(error as Error).message}`,
      attempt: job.attempts,
      workerId: ports.actor,
    });
  }
}
