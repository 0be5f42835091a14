/**
 * Intake of standalone jobs (POST /jobs, /jobs/bulk, /job-batches): plan, store each job with
 * a conditional put (the idempotency key is the id), then send the runnable ones ten to an SQS
 * call and register the blocked ones with their dependencies. A crash after the puts leaves
 * markers that the dispatcher sweeps, so an accepted job is never stranded.
 *
 * Which marker: a single job carries its own (`dispatchAt` in its row, cleared after the send).
 * A request with several jobs to send writes one intake marker for all of them before their rows
 * and deletes it after the sends: two writes per request instead of a marker clear per job (one
 * call and ~4 write units per job, most of them index maintenance). The dispatcher repairs a
 * marker that outlives its grace (`repairIntake`): it sends the listed jobs that are still
 * waiting for their first attempt.
 *
 * A request-level idempotency key (the Idempotency-Key header of a bulk request or a batch) is
 * taken with one conditional write before any job (`RequestKeys`): the request that takes it is
 * the only one that can have written its jobs, so it writes them 25 to a BatchWriteItem like jobs
 * without a key, instead of a conditional put each (a bulk of 500 is 20 calls, not 500). The same
 * request again — a client's retry — finds the key taken: it waits until the first has stored its
 * jobs (or died: its lease outlives any intake function), then stores with a conditional put each
 * and so answers with the jobs the first stored, as duplicates.
 */
import type { JobType } from '#job-types/job-type';
import { mapLimit } from '#shared/concurrency';
import { completeFollowUps, dispatchPlan, type FollowUpPorts } from './job-lifecycle.ts';
import { bandOf, type PriorityBand } from './job-queues.ts';
import { externalDependencies, type JobRequest, type KnownDependency, planJobs } from './job-submission.ts';
import type { JobRecord, JobStatus } from './jobs.ts';

export interface IntakePorts extends FollowUpPorts {
  readonly store: FollowUpPorts['jobs'] & {
    getMany(jobIds: readonly string[]): Promise<Map<string, JobRecord>>;
    create(job: JobRecord, plan: { dispatchAt: string } | undefined): Promise<boolean>;
    /** Stores up to 25 jobs with freshly drawn ids (no idempotency key) at once, unconditionally. */
    createFresh(jobs: readonly { job: JobRecord; plan: { dispatchAt: string } | undefined }[]): Promise<void>;
    /** Takes back a job this request created, if nothing has touched it since. */
    withdraw(job: JobRecord): Promise<boolean>;
    putIntakeMarker(marker: IntakeMarker): Promise<void>;
    deleteIntakeMarker(marker: IntakeMarker): Promise<void>;
  };
  readonly sender: {
    /** Returns the ids whose send failed (their markers stay for the dispatcher). */
    sendMany(items: readonly JobDispatch[]): Promise<Set<string>>;
  };
  readonly jobTypes: ReadonlyMap<string, JobType>;
  /** Without it, jobs keyed by their request's key are stored with a conditional put each. */
  readonly requestKeys?: RequestKeys;
}

/** A request-level idempotency key as stored: who may still be writing the request's jobs. */
export interface RequestKeyRecord {
  /** Until then the request that took the key may still be writing (its intake function's life). */
  readonly leaseUntil: string;
  /** The request that took the key has stored its jobs (or given up): nobody writes unconditionally. */
  readonly released: boolean;
}

/** Request-level idempotency keys (see the module comment). */
export interface RequestKeys {
  /** Takes the key if nobody has (a conditional put): true for the request that took it. */
  take(key: string, leaseUntil: string, lastRunAt: string): Promise<boolean>;
  get(key: string): Promise<RequestKeyRecord | undefined>;
  release(key: string): Promise<void>;
  /** How a second request waits for the first. */
  pause(ms: number): Promise<void>;
}

/**
 * How long the request that took a key may still be writing: three times the longest intake
 * function's timeout (29 s), so a lease that ran out belongs to a request that is gone.
 */
export const requestKeyLeaseMs = 90_000;
/** How long the same request again waits for the first before answering 409 (an API call has 29 s). */
export const requestKeyWaitMs = 10_000;
const requestKeyPollMs = 200;

/** The same request is being stored by another call: retry in a few seconds. */
export class RequestInProgress extends Error {
  override readonly name = 'RequestInProgress';
  constructor(readonly requestKey: string) {
    super(
      `A request with Idempotency-Key ${requestKey} is still being stored. Retry in a few seconds: it answers with the same jobs.`,
    );
  }
}

/** The jobs of one request whose sends are not confirmed yet (see the module comment). */
export interface IntakeMarker {
  readonly markerId: string;
  readonly jobIds: readonly string[];
  /** When the dispatcher may repair it: the request's grace period. */
  readonly dispatchAt: string;
}

/** Requests with at least this many jobs to send use one intake marker instead of row markers. */
export const intakeMarkerFrom = 2;

/** One wake-up message for a job's band queue. */
export interface JobDispatch {
  readonly queue: string;
  readonly band: PriorityBand;
  readonly jobId: string;
  readonly priority: number;
  readonly delaySeconds: number;
}

/** A job's wake-up to send, due after `delaySeconds`. */
export const dispatchOf = (
  job: Pick<JobRecord, 'queue' | 'priority' | 'jobId'>,
  delaySeconds: number,
): JobDispatch => ({
  queue: job.queue,
  band: bandOf(job.priority),
  jobId: job.jobId,
  priority: job.priority,
  delaySeconds,
});

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
  given: readonly JobRequest[],
  ports: IntakePorts,
  options: { indexed: boolean; batchId?: string; requestKey?: string },
): Promise<Accepted[]> {
  const now = ports.clock.now();
  const requests = withRequestKey(given, options.requestKey);
  // The keys this request derived from its own key (jobs that brought none).
  const derivedKeys = new Set(
    given.flatMap((r, i) =>
      r.idempotencyKey === undefined && options.requestKey ? [`${options.requestKey}:${i}`] : [],
    ),
  );
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

  // A request that took its key is the only writer its derived keys' jobs can have had: they are
  // new, like jobs without a key.
  const tookKey =
    options.requestKey !== undefined && derivedKeys.size > 0 && ports.requestKeys
      ? await takeRequestKey(options.requestKey, planned, ports.requestKeys, ports.clock)
      : false;
  const isNew = (job: JobRecord) =>
    job.idempotencyKey === undefined || (tookKey && derivedKeys.has(job.idempotencyKey));
  try {
    return await storeAndSend(planned, isNew, ports, now);
  } finally {
    // Stored and sent (or failed): from here on nobody writes this request's jobs without a condition.
    if (tookKey) await ports.requestKeys?.release(options.requestKey as string).catch(() => undefined);
  }
}

/** Stores a request's planned jobs (all or none), then sends the runnable ones (module comment). */
async function storeAndSend(
  planned: readonly JobRecord[],
  isNew: (job: JobRecord) => boolean,
  ports: IntakePorts,
  now: Date,
): Promise<Accepted[]> {
  // Every job is stored before any is sent: should storage fail for one, the others are taken
  // back before a worker or a dependent could see them (their markers lie in the future).
  const plans = new Map(
    planned.map((job) => [
      job.jobId,
      job.status === 'CANCELLED' ? undefined : dispatchPlan(job, now, ports.graceMs),
    ]),
  );
  const toSend = planned.filter(
    (job) => !job.waitingOn && plans.get(job.jobId)?.sendDelaySeconds !== undefined,
  );
  const marker: IntakeMarker | undefined =
    toSend.length >= intakeMarkerFrom
      ? {
          // Who and when keep the marker of the same request again (a retry, whose jobs are the
          // same) apart from this one's: the retry must not take this one's marker away.
          markerId: `${toSend[0]?.jobId}+${toSend.length}@${ports.actor}@${now.toISOString()}`,
          jobIds: toSend.map((job) => job.jobId),
          dispatchAt: new Date(now.getTime() + ports.graceMs).toISOString(),
        }
      : undefined;
  const coveredByMarker = new Set(marker?.jobIds ?? []);
  if (marker) await ports.store.putIntakeMarker(marker);
  // Under the request's intake marker a job's row needs no marker of its own.
  const rowMarkerOf = (job: JobRecord) => (coveredByMarker.has(job.jobId) ? undefined : plans.get(job.jobId));
  const storedAs = (job: JobRecord) => {
    const rowMarker = rowMarkerOf(job);
    return {
      job: rowMarker ? { ...job, dispatchAt: rowMarker.dispatchAt } : job,
      created: true,
      plan: plans.get(job.jobId),
    };
  };
  type Outcome = {
    job: JobRecord;
    created: boolean;
    plan: ReturnType<typeof dispatchPlan> | undefined;
    error?: unknown;
  };
  const outcomeOf = new Map<string, Outcome>();
  // A job with an idempotency key may exist already: a conditional put each. New jobs (fresh ids,
  // or the derived keys of a request that took its key) 25 to a BatchWriteItem: a bulk of 500 is
  // 20 calls, not 500.
  const keyed = planned.filter((job) => !isNew(job));
  const newJobs = planned.filter(isNew);
  const chunks = Array.from({ length: Math.ceil(newJobs.length / 25) }, (_, i) =>
    newJobs.slice(i * 25, i * 25 + 25),
  );
  await Promise.all([
    mapLimit(keyed, 25, async (job) => {
      try {
        if (await ports.store.create(job, rowMarkerOf(job))) outcomeOf.set(job.jobId, storedAs(job));
        else {
          const found = await ports.store.get(job.jobId);
          outcomeOf.set(job.jobId, { job: found ?? job, created: false, plan: undefined });
        }
      } catch (error) {
        outcomeOf.set(job.jobId, { job, created: false, plan: undefined, error });
      }
    }),
    mapLimit(chunks, 4, async (chunk) => {
      try {
        await ports.store.createFresh(chunk.map((job) => ({ job, plan: rowMarkerOf(job) })));
        for (const job of chunk) outcomeOf.set(job.jobId, storedAs(job));
      } catch (error) {
        // Some of them may have been written: those are taken back with the rest of the request.
        const written = await ports.store
          .getMany(chunk.map((job) => job.jobId))
          .catch(() => new Map(chunk.map((job) => [job.jobId, job])));
        for (const job of chunk)
          outcomeOf.set(job.jobId, { job, created: written.has(job.jobId), plan: undefined, error });
      }
    }),
  ]);
  const stored = planned.map((job) => outcomeOf.get(job.jobId) as Outcome);
  const failure = stored.find((o) => 'error' in o);
  if (failure) {
    const created = stored.filter((o) => o.created).map((o) => o.job);
    const kept = await mapLimit(created, 25, async (job) =>
      (await ports.store.withdraw(job).catch(() => false)) ? undefined : job.jobId,
    );
    throw new IntakeFailed(
      kept.filter((id) => id !== undefined),
      (failure as { error: unknown }).error,
    );
  }

  const fresh = stored.filter((s) => s.created && s.plan);
  const sendable = fresh.filter((s) => !s.job.waitingOn && s.plan?.sendDelaySeconds !== undefined);
  const failed = await ports.sender.sendMany(
    sendable.map(({ job, plan }) => dispatchOf(job, plan?.sendDelaySeconds ?? 0)),
  );
  await mapLimit(
    sendable.filter((s) => !failed.has(s.job.jobId) && s.job.dispatchAt),
    25,
    ({ job }) => ports.jobs.clearMarker(job.jobId, job.dispatchAt as string),
  );
  // A failed send keeps the intake marker: the dispatcher sends what is still waiting.
  if (marker && ![...failed].some((id) => coveredByMarker.has(id)))
    await ports.store.deleteIntakeMarker(marker);
  // Blocked jobs: in submission order, so refs point at jobs already stored.
  for (const { job } of fresh.filter((s) => s.job.waitingOn)) await completeFollowUps(job, ports);

  return stored.map(({ job, created }) => ({ jobId: job.jobId, status: job.status, duplicate: !created }));
}

/**
 * Takes a request's key (true), or — the key is taken: the same request again — waits until the
 * request that took it has stored its jobs or is gone (false: store with conditions).
 */
async function takeRequestKey(
  key: string,
  jobs: readonly JobRecord[],
  keys: RequestKeys,
  clock: { now(): Date },
): Promise<boolean> {
  const started = clock.now().getTime();
  const lastRunAt = jobs.reduce<string>(
    (last, job) => (job.runAt !== undefined && job.runAt > last ? job.runAt : last),
    clock.now().toISOString(),
  );
  if (await keys.take(key, new Date(started + requestKeyLeaseMs).toISOString(), lastRunAt)) return true;
  for (;;) {
    const record = await keys.get(key);
    const now = clock.now().getTime();
    if (!record || record.released || Date.parse(record.leaseUntil) <= now) return false;
    if (now - started >= requestKeyWaitMs) throw new RequestInProgress(key);
    await keys.pause(requestKeyPollMs);
  }
}

export interface IntakeRepairPorts {
  readonly store: Pick<IntakePorts['store'], 'getMany' | 'deleteIntakeMarker'>;
  readonly sender: IntakePorts['sender'];
  readonly clock: { now(): Date };
}

/**
 * An intake marker past its grace: the request died or a send failed. Sends the listed jobs
 * that are still waiting for their first attempt (a job already sent and waiting gets a second
 * wake-up, which its claim absorbs), then drops the marker; on a failed send it stays for the
 * next sweep. Returns how many were sent.
 */
export async function repairIntake(marker: IntakeMarker, ports: IntakeRepairPorts): Promise<number> {
  const rows = await ports.store.getMany(marker.jobIds);
  const now = ports.clock.now();
  const waiting = [...rows.values()].filter(
    (job) => job.status === 'QUEUED' && job.attempts === 0 && !job.waitingOn && !job.dispatchAt,
  );
  const failed = await ports.sender.sendMany(
    waiting.map((job) =>
      dispatchOf(
        job,
        Math.max(0, Math.ceil((Date.parse(job.runAt ?? job.createdAt) - now.getTime()) / 1000)),
      ),
    ),
  );
  if (failed.size === 0) await ports.store.deleteIntakeMarker(marker);
  return waiting.length - failed.size;
}
