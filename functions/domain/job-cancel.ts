/**
 * DELETE /jobs/{id}: a standalone job that has not finished stops. A waiting job is CANCELLED at
 * once (and its dependents with it); a running one is asked to stop and its worker settles it
 * CANCELLED at its next heartbeat. Both are conditional writes on the state just read: when the
 * job moves in between (claimed, finished), the next round reads it again.
 */
import { completeFollowUps, type FollowUpPorts } from './job-lifecycle.ts';
import { finishedJobStatuses, type JobRecord, type JobStatus } from './jobs.ts';

export interface CancelPorts extends FollowUpPorts {
  readonly jobs: FollowUpPorts['jobs'] & {
    requestCancel(jobId: string, now: Date): Promise<JobRecord | undefined>;
  };
}

export type CancelOutcome =
  | { readonly kind: 'not-found' }
  | { readonly kind: 'robot-step'; readonly job: JobRecord }
  | { readonly kind: 'finished'; readonly status: JobStatus }
  | { readonly kind: 'stop-requested'; readonly job: JobRecord }
  | { readonly kind: 'cancelled'; readonly job: JobRecord }
  | { readonly kind: 'kept-changing' };

/** Rounds of read-then-conditional-write before giving up on a job that keeps moving. */
export const cancelRounds = 5;

export async function cancelJob(jobId: string, ports: CancelPorts): Promise<CancelOutcome> {
  for (let round = 0; round < cancelRounds; round++) {
    const job = await ports.jobs.get(jobId);
    if (!job) return { kind: 'not-found' };
    if (job.kind === 'step') return { kind: 'robot-step', job };
    if (finishedJobStatuses.includes(job.status)) return { kind: 'finished', status: job.status };
    const now = ports.clock.now();
    const entry = (message: string) => ({
      timestamp: now.toISOString(),
      level: 'WARN' as const,
      message,
      attempt: job.attempts,
      workerId: ports.actor,
    });
    if (job.status === 'RUNNING') {
      const asked = await ports.jobs.requestCancel(job.jobId, now);
      if (!asked) continue;
      await ports.logs.append(job.jobId, entry(`Cancellation requested while running, by ${ports.actor}`));
      return { kind: 'stop-requested', job: asked };
    }
    const cancelled = await ports.jobs.cancel(job, `Cancelled by ${ports.actor} (DELETE /jobs/{id})`, now);
    if (!cancelled) continue;
    await ports.logs.append(job.jobId, entry(`Cancelled from ${job.status} by ${ports.actor}`));
    await completeFollowUps(cancelled, ports);
    return { kind: 'cancelled', job: (await ports.jobs.get(job.jobId)) ?? cancelled };
  }
  return { kind: 'kept-changing' };
}
