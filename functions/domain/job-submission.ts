/**
 * Submission of standalone jobs: validation at the edge (zod), then planning — ids, idempotency,
 * dependencies (by id, or by `ref` inside one bulk request), delays — into job records. Nothing
 * here does I/O; the caller fetches the dependencies it names and stores the plan.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as z from 'zod';
import type { JobType } from '#job-types/job-type';
import { type Backoff, backoffSchema, defaultBackoff } from './backoff.ts';
import { defaultQueueOf, isJobQueue, isProductionLine, jobQueues, prioritySchema } from './job-queues.ts';
import { finishedJobStatuses, type JobRecord, type JobStatus } from './jobs.ts';

/** Payloads live in the job row (DynamoDB items stop at 400 KB); bigger inputs go by reference. */
export const maxPayloadBytes = 128 * 1024;
export const maxDelayMs = 365 * 86_400_000;
export const maxBulkJobs = 500;

/**
 * Requests written from the seeds are accepted as written: `jobType` and `scheduledFor` (seed
 * 004), upper-case type names, `availableAt` and no queue (seed 003, the type's default queue).
 */
function seedShapes(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const request: Record<string, unknown> = { ...raw };
  const rename = (from: string, to: string) => {
    if (request[from] === undefined) return;
    if (request[to] === undefined || request[to] === request[from]) {
      request[to] = request[from];
      delete request[from];
    }
  };
  rename('jobType', 'type');
  rename('scheduledFor', 'runAt');
  rename('availableAt', 'runAt');
  if (typeof request.type === 'string' && /^[A-Z][A-Z0-9_]*$/.test(request.type))
    request.type = request.type.toLowerCase();
  if (request.queue === undefined && typeof request.type === 'string') {
    const queue = defaultQueueOf(request.type);
    if (queue) request.queue = queue;
  }
  return request;
}

const jobRequestObject = z
  .object({
    queue: z.string().min(1).max(64),
    type: z.string().min(1).max(64),
    payload: z.record(z.string(), z.unknown()).default({}),
    priority: prioritySchema.default(5),
    maxAttempts: z.int().min(1).max(25).optional(),
    backoff: backoffSchema.optional(),
    delayMs: z.int().min(0).max(maxDelayMs).optional(),
    runAt: z.iso.datetime({ offset: true }).optional(),
    dependsOn: z.array(z.string().min(1).max(100)).max(100).default([]),
    idempotencyKey: z.string().min(1).max(200).optional(),
    timeoutMs: z.int().min(100).max(840_000).optional(),
    /** A name other jobs of the same bulk request or batch can list in dependsOn. */
    ref: z.string().min(1).max(100).optional(),
    /** POST /jobs only: answer with the failure model's prediction too (docs/intelligence.md). */
    predict: z.boolean().optional(),
  })
  .strict()
  .refine((r) => r.delayMs === undefined || r.runAt === undefined, {
    message: 'Give delayMs or runAt, not both',
    path: ['runAt'],
  });
export const jobRequestSchema = z.preprocess(seedShapes, jobRequestObject);
export type JobRequest = z.infer<typeof jobRequestSchema>;

export const bulkRequestSchema = z
  .object({ jobs: z.array(jobRequestSchema).min(1).max(maxBulkJobs) })
  .strict();

export class JobRejected extends Error {
  override readonly name = 'JobRejected';
  constructor(
    readonly code: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
  }
}

export interface KnownDependency {
  readonly status: JobStatus;
  readonly kind: JobRecord['kind'];
}

export interface SubmissionContext {
  readonly now: Date;
  readonly jobTypes: ReadonlyMap<string, JobType>;
  /** The existing jobs named in dependsOn (absent = unknown). */
  readonly dependencies: ReadonlyMap<string, KnownDependency>;
  readonly batchId?: string;
  /** Whether to prefix details with the job's index (bulk requests). */
  readonly indexed: boolean;
  readonly newJobId?: () => string;
}

/** Ids named in dependsOn that are not refs of this request: the caller fetches these. */
export function externalDependencies(requests: readonly JobRequest[]): string[] {
  const refs = new Set(requests.flatMap((r) => (r.ref ? [r.ref] : [])));
  return [...new Set(requests.flatMap((r) => r.dependsOn.filter((d) => !refs.has(d))))];
}

/** Same key, same job: the id is derived from the key, so a conditional put finds the first one. */
export const jobIdForKey = (idempotencyKey: string): string =>
  `job_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;

export const newJobId = (): string => `job_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;

export interface PlannedJob extends JobRecord {
  readonly kind: 'job';
  readonly payload: Record<string, unknown>;
  readonly backoff: Backoff;
  readonly runAt: string;
  readonly timeoutMs: number;
  readonly dependsOn: readonly string[];
}

export function planJobs(requests: readonly JobRequest[], context: SubmissionContext): PlannedJob[] {
  const problems: { index?: number; path: string; message: string; code: string }[] = [];
  const problem = (index: number, code: string, path: string, message: string) =>
    problems.push({ ...(context.indexed ? { index } : {}), code, path, message });

  const refIds = new Map<string, string>();
  const keys = new Set<string>();
  const ids: string[] = requests.map((r, i) => {
    if (r.idempotencyKey !== undefined) {
      if (keys.has(r.idempotencyKey))
        problem(
          i,
          'DUPLICATE_IDEMPOTENCY_KEY',
          'idempotencyKey',
          'The same idempotencyKey appears twice in this request',
        );
      keys.add(r.idempotencyKey);
    }
    const id =
      r.idempotencyKey !== undefined ? jobIdForKey(r.idempotencyKey) : (context.newJobId ?? newJobId)();
    if (r.ref !== undefined) {
      if (refIds.has(r.ref)) problem(i, 'DUPLICATE_REF', 'ref', `The ref "${r.ref}" is used twice`);
      refIds.set(r.ref, id);
    }
    return id;
  });

  requests.forEach((r, i) => {
    if (!isJobQueue(r.queue)) {
      if (isProductionLine(r.queue))
        problem(
          i,
          'QUEUE_NOT_SUBMITTABLE',
          'queue',
          `"${r.queue}" is a production line: its jobs come from robot orders (POST /orders)`,
        );
      else problem(i, 'UNKNOWN_QUEUE', 'queue', `No queue "${r.queue}" (GET /queues lists them)`);
      return;
    }
    const accepted: readonly string[] = jobQueues[r.queue].jobTypes;
    const type = context.jobTypes.get(r.type);
    if (!type) {
      problem(i, 'UNKNOWN_JOB_TYPE', 'type', `No job type "${r.type}"`);
      return;
    }
    if (!accepted.includes(r.type)) {
      problem(
        i,
        'JOB_TYPE_NOT_ACCEPTED',
        'type',
        `Queue "${r.queue}" does not take "${r.type}" jobs; it takes ${accepted.join(', ')}`,
      );
    }
    const bytes = Buffer.byteLength(JSON.stringify(r.payload));
    if (bytes > maxPayloadBytes) {
      problem(
        i,
        'PAYLOAD_TOO_LARGE',
        'payload',
        `The payload is ${bytes} bytes; the limit is ${maxPayloadBytes} (pass large inputs by reference)`,
      );
      return;
    }
    const parsed = type.payload.safeParse(r.payload);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problem(i, 'INVALID_PAYLOAD', ['payload', ...issue.path.map(String)].join('.'), issue.message);
      }
    }
    for (const dep of r.dependsOn) {
      if (refIds.has(dep)) continue;
      const known = context.dependencies.get(dep);
      if (!known) problem(i, 'UNKNOWN_DEPENDENCY', 'dependsOn', `No job "${dep}" to depend on`);
      else if (known.kind !== 'job')
        problem(
          i,
          'UNSUPPORTED_DEPENDENCY',
          'dependsOn',
          `"${dep}" is a robot step; dependsOn takes standalone jobs`,
        );
    }
  });

  const cycle = findCycle(requests);
  if (cycle) {
    throw new JobRejected(
      'DEPENDENCY_CYCLE',
      `The jobs depend on each other in a cycle: ${cycle.join(' → ')}`,
      { cycle },
    );
  }
  if (problems.length > 0) {
    const [first] = problems;
    const code = problems.every((p) => p.code === first?.code)
      ? (first?.code ?? 'INVALID_JOB')
      : 'INVALID_JOBS';
    throw new JobRejected(
      code,
      problems.length === 1 ? (first?.message ?? '') : `${problems.length} problems in the submitted jobs`,
      problems,
    );
  }

  const now = context.now;
  const at = now.toISOString();
  return requests.map((r, i): PlannedJob => {
    const type = context.jobTypes.get(r.type) as JobType;
    const payload = type.payload.parse(r.payload) as Record<string, unknown>;
    const runAt = r.runAt ? new Date(r.runAt) : new Date(now.getTime() + (r.delayMs ?? 0));
    const dependsOn = [...new Set(r.dependsOn.map((d) => refIds.get(d) ?? d))];
    const waitingOn = dependsOn.filter((d) => context.dependencies.get(d)?.status !== 'COMPLETED');
    const doomedBy = dependsOn.find((d) => {
      const status = context.dependencies.get(d)?.status;
      return status !== undefined && status !== 'COMPLETED' && finishedJobStatuses.includes(status);
    });
    const status: JobStatus = doomedBy
      ? 'CANCELLED'
      : waitingOn.length > 0 || runAt.getTime() > now.getTime()
        ? 'PENDING'
        : 'QUEUED';
    return {
      jobId: ids[i] as string,
      kind: 'job',
      queue: r.queue,
      type: r.type,
      payload,
      priority: r.priority,
      status,
      attempts: 0,
      maxAttempts: r.maxAttempts ?? type.defaults.maxAttempts,
      backoff: r.backoff ?? { ...defaultBackoff, ...type.defaults.backoff },
      runAt: runAt.toISOString(),
      timeoutMs: r.timeoutMs ?? type.defaults.timeoutMs,
      dependsOn,
      ...(waitingOn.length > 0 && !doomedBy ? { waitingOn: new Set(waitingOn) } : {}),
      ...(context.batchId ? { batchId: context.batchId } : {}),
      ...(r.idempotencyKey !== undefined ? { idempotencyKey: r.idempotencyKey } : {}),
      ...(doomedBy
        ? {
            cancelledAt: at,
            cancelReason: `Dependency ${doomedBy} ended ${context.dependencies.get(doomedBy)?.status}`,
          }
        : {}),
      createdAt: at,
      updatedAt: at,
    };
  });
}

/** A dependency cycle among the refs of one request, as a path, or undefined. */
export function findCycle(requests: readonly JobRequest[]): string[] | undefined {
  const edges = new Map(requests.flatMap((r) => (r.ref ? [[r.ref, r.dependsOn] as const] : [])));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (ref: string): string[] | undefined => {
    if (state.get(ref) === 'done') return undefined;
    if (state.get(ref) === 'visiting') return [...path.slice(path.indexOf(ref)), ref];
    state.set(ref, 'visiting');
    path.push(ref);
    for (const dep of edges.get(ref) ?? []) {
      if (!edges.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(ref, 'done');
    return undefined;
  };
  for (const ref of edges.keys()) {
    const found = visit(ref);
    if (found) return found;
  }
  return undefined;
}
