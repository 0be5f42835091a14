/**
 * Intake of standalone jobs (POST /jobs, /jobs/bulk, /job-batches): plan, store each job with
 * a conditional put (the idempotency key is the id), then send the runnable ones ten to an SQS
 * call and register the blocked ones with their dependencies. A crash after the puts leaves
 * markers that the dispatcher sweeps, so an accepted job is never stranded.
 */
import type { JobType } from '#job-types/job-type';
import { mapLimit } from '#shared/concurrency';
import { completeFollowUps, dispatchPlan, type FollowUpPorts } from './job-lifecycle.ts';
import { bandOf, type PriorityBand } from './job-queues.ts';
import { externalDependencies, type JobRequest, type KnownDependency, planJobs } from './job-submission.ts';
import type { JobRecord, JobStatus } from './jobs.ts';
import type { MetricDelta } from './throughput.ts';

export interface IntakePorts extends FollowUpPorts {
  readonly store: FollowUpPorts['jobs'] & {
    getMany(jobIds: readonly string[]): Promise<Map<string, JobRecord>>;
    create(job: JobRecord, plan: { dispatchAt: string } | undefined): Promise<boolean>;
  };
  readonly sender: {
    sendMany(
      items: readonly {
        queue: string;
        band: PriorityBand;
        jobId: string;
        priority: number;
        delaySeconds: number;
      }[],
    ): Promise<Set<string>>;
  };
  readonly jobTypes: ReadonlyMap<string, JobType>;
  readonly metrics?: { record(delta: MetricDelta): Promise<void> };
}

export interface Accepted {
  readonly jobId: string;
  readonly status: JobStatus;
  /** True when the idempotency key matched an existing job: nothing new was created. */
  readonly duplicate: boolean;
}

export async function submitJobs(
  requests: readonly JobRequest[],
  ports: IntakePorts,
  options: { indexed: boolean; batchId?: string },
): Promise<Accepted[]> {
  const now = ports.clock.now();
  const existing = await ports.store.getMany(externalDependencies(requests));
  const dependencies = new Map<string, KnownDependency>(
    [...existing].map(([id, job]) => [id, { status: job.status, kind: job.kind }]),
  );
  const planned = planJobs(requests, {
    now,
    jobTypes: ports.jobTypes,
    dependencies,
    indexed: options.indexed,
    batchId: options.batchId,
  });

  const stored = await mapLimit(planned, 25, async (job) => {
    const plan = job.status === 'CANCELLED' ? undefined : dispatchPlan(job, now, ports.graceMs);
    const created = await ports.store.create(job, plan);
    if (created) return { job: plan ? { ...job, dispatchAt: plan.dispatchAt } : job, created, plan };
    const found = await ports.store.get(job.jobId);
    return { job: found ?? job, created: false, plan: undefined };
  });

  const fresh = stored.filter((s) => s.created && s.plan);
  const sendable = fresh.filter((s) => !s.job.waitingOn && s.plan?.sendDelaySeconds !== undefined);
  const failed = await ports.sender.sendMany(
    sendable.map(({ job, plan }) => ({
      queue: job.queue,
      band: bandOf(job.priority),
      jobId: job.jobId,
      priority: job.priority,
      delaySeconds: plan?.sendDelaySeconds ?? 0,
    })),
  );
  await mapLimit(
    sendable.filter((s) => !failed.has(s.job.jobId)),
    25,
    ({ job }) => ports.jobs.clearMarker(job.jobId, job.dispatchAt as string),
  );
  // Blocked jobs: in submission order, so refs point at jobs already stored.
  for (const { job } of fresh.filter((s) => s.job.waitingOn)) await completeFollowUps(job, ports);

  // One analytics update per queue and type of the request, not per job.
  const groups = new Map<string, { queue: string; type: string; count: number }>();
  for (const { job } of stored.filter((s) => s.created)) {
    const key = `${job.queue}/${job.type}`;
    const group = groups.get(key) ?? { queue: job.queue, type: job.type, count: 0 };
    group.count++;
    groups.set(key, group);
  }
  await Promise.all(
    [...groups.values()].map((g) =>
      ports.metrics
        ?.record({ queue: g.queue, type: g.type, at: now, submitted: g.count })
        .catch(() => undefined),
    ),
  );
  return stored.map(({ job, created }) => ({ jobId: job.jobId, status: job.status, duplicate: !created }));
}
