/** Checks a schedule's job the way POST /jobs would, without storing anything. */
import type { JobType } from '#job-types/job-type';
import { JobRejected, type JobRequest, planJobs } from './job-submission.ts';

export function validateScheduledJob(job: JobRequest, jobTypes: ReadonlyMap<string, JobType>): void {
  if (
    job.dependsOn.length > 0 ||
    job.idempotencyKey !== undefined ||
    job.delayMs !== undefined ||
    job.runAt !== undefined
  ) {
    throw new JobRejected(
      'UNSUPPORTED_IN_SCHEDULE',
      'A scheduled job runs at its cron times: dependsOn, idempotencyKey, delayMs and runAt do not apply',
    );
  }
  planJobs([job], { now: new Date(), jobTypes, dependencies: new Map(), indexed: false });
}
