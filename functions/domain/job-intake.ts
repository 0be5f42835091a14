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
    /** Takes back a job this request created, if nothing has touched it since. */
    withdraw(job: JobRecord): Promise<boolean>;
  };
  readonly sender: {
    /** Returns the ids whose send failed (their markers stay for the dispatcher). */
    sendMany(items: readonly JobDispatch[]): Promise<Set<string>>;
  };
  readonly jobTypes: ReadonlyMap<string, JobType>;
  readonly metrics?: { record(delta: MetricDelta): Promise<void> };
}

/** One wake-up message for a job's band queue. */
export interface JobDispatch {
  readonly queue: string;
  readonly band: PriorityBand;
  readonly jobId: string;
  readonly priority: number;
  readonly delaySeconds: number;
}

export interface Accepted {
  readonly jobId: string;
  readonly status: JobStatus;
  /** True when the idempotency key matched an existing job: nothing new was created. */
  readonly duplicate: boolean;
}

/**
 * Storage failed under a request: what it had stored was taken back, except `stored` (jobs the
 * take-back itself could not reach; they run). Retried with the same request-level key, the
 * request completes instead of duplicating anything.
 */
export class IntakeFailed extends Error {
  override readonly name = 'IntakeFailed';
  constructor(
    readonly stored: readonly string[],
    cause: unknown,
  ) {
    super(
      stored.length === 0
        ? 'Storage failed while accepting the jobs; none was stored. Retry the request.'
        : `Storage failed while accepting the jobs; ${stored.length} could not be taken back and will run. Retry with the same Idempotency-Key to complete the request without duplicates.`,
      { cause },
    );
  }
}

/**
 * A request-level idempotency key (the Idempotency-Key header of a bulk request or a batch)
 * gives every job without a key of its own the key `<requestKey>:<index>`: the same request
 * retried maps onto the same jobs.
 */
export function withRequestKey(
  requests: readonly JobRequest[],
  requestKey: string | undefined,
): JobRequest[] {
  if (!requestKey) return [...requests];
  return requests.map((r, i) =>
    r.idempotencyKey === undefined ? { ...r, idempotencyKey: `${requestKey}:${i}` } : r,
  );
}

/** One job (POST /jobs): its idempotency key from the body, or else the request's header. */
export async function submitJob(
  request: JobRequest,
  requestKey: string | undefined,
  ports: IntakePorts,
): Promise<Accepted> {
  const keyed =
    request.idempotencyKey === undefined && requestKey ? { ...request, idempotencyKey: requestKey } : request;
  const [accepted] = await submitJobs([keyed], ports, { indexed: false });
  if (!accepted) throw new Error('Intake returned no job');
  return accepted;
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

  // Every job is stored before any is sent: should storage fail for one, the others are taken
  // back before a worker or a dependent could see them (their markers lie in the future).
  const outcomes = await mapLimit(planned, 25, async (job) => {
    const plan = job.status === 'CANCELLED' ? undefined : dispatchPlan(job, now, ports.graceMs);
    try {
      const created = await ports.store.create(job, plan);
      if (created) return { job: plan ? { ...job, dispatchAt: plan.dispatchAt } : job, created, plan };
      const found = await ports.store.get(job.jobId);
      return { job: found ?? job, created: false, plan: undefined };
    } catch (error) {
      return { job, created: false, plan: undefined, error };
    }
  });
  const failure = outcomes.find((o) => 'error' in o);
  if (failure) {
    const created = outcomes.filter((o) => o.created).map((o) => o.job);
    const kept = await mapLimit(created, 25, async (job) =>
      (await ports.store.withdraw(job).catch(() => false)) ? undefined : job.jobId,
    );
    throw new IntakeFailed(
      kept.filter((id) => id !== undefined),
      (failure as { error: unknown }).error,
    );
  }
  const stored = outcomes;

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
